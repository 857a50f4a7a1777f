"""Restricted senders: Get-BlockedSenderAddress / Remove-BlockedSenderAddress (wire ref 4.5).

Rows are written by the SMTP host when an outbound spam policy's limit is hit: permanent for
`BlockUser` (expires_at NULL), until the next UTC midnight for `BlockUserForToday`. Whether the
latter are listed is configurable (`list_temporary_blocks`, UNCONFIRMED at Microsoft). Removing
a permanent block also exempts the sender for the rest of that UTC day, as Microsoft documents
("the user won't be restricted again for that day").
"""

from __future__ import annotations

from typing import Any

from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse, utc_day


def _visible(ctx: CmdletContext, sender: str | None) -> list[Row]:
    clauses = ["tenant_id = ?", "(expires_at IS NULL OR expires_at > ?)"]
    params: list[object] = [ctx.tenant_id, iso(ctx.now)]
    if not ctx.sb.config.list_temporary_blocks:
        clauses.append("expires_at IS NULL")
    if sender is not None:
        clauses.append("sender_address = ?")
        params.append(sender.strip())
    return ctx.sb.store.all(
        "SELECT * FROM blocked_sender WHERE "  # noqa: S608 - fixed clauses
        + " AND ".join(clauses)
        + " ORDER BY created_at, sender_address",
        tuple(params),
    )


def blocked_row(row: Row) -> dict[str, Any]:
    return {
        "SenderAddress": row["sender_address"],
        "Reason": row["reason"],
        "CreatedDatetime": parse(row["created_at"]),
        "ChangedDatetime": parse(row["changed_at"]),
        "TemporaryBlock": row["expires_at"] is not None,
    }


def get_blocked(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    return CmdletResult(
        rows=[blocked_row(row) for row in _visible(ctx, params.get("SenderAddress"))]
    )


def remove_blocked(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    address = params["SenderAddress"]
    rows = _visible(ctx, address)
    if not rows:
        raise errors.not_found(address)
    row = rows[0]
    ctx.sb.store.execute(
        "DELETE FROM blocked_sender WHERE tenant_id = ? AND sender_address = ?",
        (ctx.tenant_id, row["sender_address"]),
    )
    if row["expires_at"] is None:
        ctx.sb.store.execute(
            "INSERT OR IGNORE INTO block_exemption(tenant_id, sender_address, day)"
            " VALUES (?, ?, ?)",
            (ctx.tenant_id, str(row["sender_address"]).lower(), utc_day(ctx.now)),
        )
    return CmdletResult()


CMDLETS = (
    Cmdlet(
        "Get-BlockedSenderAddress",
        get_blocked,
        (Param("SenderAddress", cv.identity()),),
        paged=True,
    ),
    Cmdlet(
        "Remove-BlockedSenderAddress",
        remove_blocked,
        (Param("SenderAddress", cv.identity(), required=True), Param("Reason", cv.text())),
    ),
)
