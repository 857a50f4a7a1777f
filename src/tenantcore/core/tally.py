"""The counts of a request with a result per item (mailbox provisioning, the batches)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Protocol


class _Outcome(Protocol):
    @property
    def status(self) -> str: ...


def tally(results: Iterable[_Outcome]) -> dict[str, int]:
    """`created_count`, `exists_count` and `failed_count` of the results."""
    statuses = [result.status for result in results]
    return {f"{status}_count": statuses.count(status) for status in ("created", "exists", "failed")}
