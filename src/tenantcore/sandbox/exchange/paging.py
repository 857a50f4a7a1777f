"""Continuation pages of InvokeCommand results (wire reference 3.4).

A result longer than the page size is answered page by page: each page carries an
`@odata.nextLink` whose `$skiptoken` names the rest of the result, kept here in memory. The
next page may be fetched with GET or by re-POSTing the same body (clients do both). A token is
bound to its tenant and expires after a while; it can be fetched again, so a client may retry
a page whose response it lost. Keeping the rest of the result (rather than re-running the
cmdlet) makes pages consistent and spends throttles, such as message trace's, once per query.
"""

from __future__ import annotations

import secrets
import time
from collections import OrderedDict
from dataclasses import dataclass
from typing import Any

TOKEN_TTL_SECONDS = 900.0
MAX_PENDING = 512


@dataclass(frozen=True)
class PendingRows:
    tenant_id: str
    cmdlet: str
    rows: list[dict[str, Any]]
    expires: float


class PageStore:
    def __init__(self) -> None:
        self._pending: OrderedDict[str, PendingRows] = OrderedDict()

    def _expire(self, moment: float) -> None:
        for token in [t for t, entry in self._pending.items() if entry.expires <= moment]:
            del self._pending[token]
        while len(self._pending) > MAX_PENDING:
            self._pending.popitem(last=False)

    def put(self, tenant_id: str, cmdlet: str, rows: list[dict[str, Any]]) -> str:
        moment = time.monotonic()
        self._expire(moment)
        token = secrets.token_urlsafe(24)
        self._pending[token] = PendingRows(tenant_id, cmdlet, rows, moment + TOKEN_TTL_SECONDS)
        return token

    def get(self, token: str, tenant_id: str) -> PendingRows | None:
        """The rows a token names; None if unknown, expired or another tenant's."""
        self._expire(time.monotonic())
        entry = self._pending.get(token)
        if entry is None or entry.tenant_id != tenant_id:
            return None
        return entry


def split(
    rows: list[dict[str, Any]], page_size: int
) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """This page and the rest."""
    return rows[:page_size], rows[page_size:]
