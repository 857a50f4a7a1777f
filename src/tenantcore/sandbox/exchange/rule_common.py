"""What transport rules and outbound spam filter rules share: sender conditions and priorities.

Conditions are stored as `schema.py` documents them (the SMTP host evaluates that JSON):
`From` as lower-case addresses, `FromMemberOf` as group GUIDs, `SenderDomainIs` as lower-case
domains, and the same for their `ExceptIf*` variants. Get-* cmdlets print `FromMemberOf` as
the groups' primary addresses again.

Priorities are a dense sequence 0..n-1 per tenant and rule kind, as in Exchange: inserting at
priority p moves the rules at p and below down by one, removing a rule moves them up.
"""

from __future__ import annotations

import re
from typing import Any, Literal

from tenantcore.sandbox.directory import find_mailbox, is_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.recipients import find_group
from tenantcore.sandbox.exchange.registry import CmdletContext, Param
from tenantcore.sandbox.store import Row, loads

RuleTable = Literal["transport_rule", "spam_rule"]

SENDER_CONDITIONS = (
    "From",
    "FromMemberOf",
    "SenderDomainIs",
    "ExceptIfFrom",
    "ExceptIfFromMemberOf",
    "ExceptIfSenderDomainIs",
)
_DOMAIN_RE = re.compile(r"^([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_ADDRESS_RE = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def sender_condition_params() -> tuple[Param, ...]:
    return tuple(Param(name, cv.text_list(nullable=True)) for name in SENDER_CONDITIONS)


def _resolve_senders(ctx: CmdletContext, values: list[str]) -> list[str]:
    resolved: list[str] = []
    for value in values:
        mailbox = find_mailbox(ctx.sb, ctx.tenant_id, value)
        if mailbox is not None:
            resolved.append(str(mailbox["primary_smtp_address"]).lower())
        elif _ADDRESS_RE.match(value):
            # Senders outside the organization are allowed as plain addresses.
            resolved.append(value.lower())
        else:
            raise errors.recipient_not_found(value)
    return resolved


def _resolve_groups(ctx: CmdletContext, values: list[str]) -> list[str]:
    resolved: list[str] = []
    for value in values:
        group = find_group(ctx, value)
        if group is None:
            raise errors.recipient_not_found(value)
        resolved.append(str(group["guid"]).lower())
    return resolved


def _resolve_domains(parameter: str, values: list[str]) -> list[str]:
    domains = [value.strip().lower().lstrip("@") for value in values]
    for domain in domains:
        if not _DOMAIN_RE.match(domain):
            raise errors.cannot_convert(
                parameter, domain, "Microsoft.Exchange.Data.Word", "The domain isn't valid."
            )
    return domains


def apply_conditions(
    ctx: CmdletContext, conditions: dict[str, Any], params: dict[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    """`conditions` updated with the named parameters present (null or empty removes one)."""
    updated = dict(conditions)
    for name in names:
        if name not in params:
            continue
        value = params[name]
        if value is None or value == []:
            updated.pop(name, None)
            continue
        base = name.removeprefix("ExceptIf")
        if base == "From":
            updated[name] = _dedupe(_resolve_senders(ctx, value))
        elif base == "FromMemberOf":
            updated[name] = _dedupe(_resolve_groups(ctx, value))
        elif base == "SenderDomainIs":
            updated[name] = _dedupe(_resolve_domains(name, value))
        else:
            updated[name] = value
    return updated


def _dedupe(values: list[str]) -> list[str]:
    return list(dict.fromkeys(values))


def conditions_output(
    ctx: CmdletContext, conditions: dict[str, Any], names: tuple[str, ...]
) -> dict[str, Any]:
    """Every named condition as Get-* prints it; unset conditions are null, as in Exchange."""
    out: dict[str, Any] = {}
    for name in names:
        value = conditions.get(name)
        if value is not None and name.removeprefix("ExceptIf") == "FromMemberOf":
            value = [_group_address(ctx, guid) for guid in value]
        out[name] = value
    return out


def _group_address(ctx: CmdletContext, guid: str) -> str:
    row = ctx.sb.store.one(
        "SELECT primary_smtp_address FROM distribution_group WHERE tenant_id = ? AND guid = ?",
        (ctx.tenant_id, guid),
    )
    return guid if row is None else str(row["primary_smtp_address"])


def stored_conditions(row: Row) -> dict[str, Any]:
    value = loads(row["conditions"])
    return value if isinstance(value, dict) else {}


def find_rule(ctx: CmdletContext, table: RuleTable, identity: str) -> Row | None:
    key = identity.strip()
    column = "guid" if is_guid(key) else "name"
    return ctx.sb.store.one(
        f"SELECT * FROM {table} WHERE tenant_id = ? AND {column} = ?",  # noqa: S608 - fixed names
        (ctx.tenant_id, key.lower() if column == "guid" else key),
    )


def lookup_rule(ctx: CmdletContext, table: RuleTable, identity: str) -> Row:
    row = find_rule(ctx, table, identity)
    if row is None:
        raise errors.not_found(identity)
    return row


def _count(ctx: CmdletContext, table: RuleTable) -> int:
    row = ctx.sb.store.one(
        f"SELECT COUNT(*) AS n FROM {table} WHERE tenant_id = ?",  # noqa: S608 - fixed names
        (ctx.tenant_id,),
    )
    return 0 if row is None else int(row["n"])


def _check_priority(priority: int, highest: int) -> None:
    if priority > highest:
        raise errors.invalid_value(
            f"The priority {priority} is out of range. Rule priorities must be between 0 and"
            f" {highest}."
        )


def make_room(ctx: CmdletContext, table: RuleTable, requested: int | None) -> int:
    """The priority of a rule about to be inserted; rules at or below it move down one."""
    count = _count(ctx, table)
    if requested is None:
        return count
    _check_priority(requested, count)
    _shift(ctx, table, requested, None, +1, exclude=None)
    return requested


def move(ctx: CmdletContext, table: RuleTable, rule: Row, requested: int) -> None:
    """Give an existing rule a new priority, shifting the rules in between."""
    _check_priority(requested, _count(ctx, table) - 1)
    current = int(rule["priority"])
    if requested == current:
        return
    if requested < current:
        _shift(ctx, table, requested, current - 1, +1, exclude=rule["guid"])
    else:
        _shift(ctx, table, current + 1, requested, -1, exclude=rule["guid"])
    ctx.sb.store.execute(
        f"UPDATE {table} SET priority = ? WHERE guid = ?",  # noqa: S608 - fixed names
        (requested, rule["guid"]),
    )


def close_gap(ctx: CmdletContext, table: RuleTable, removed_priority: int) -> None:
    _shift(ctx, table, removed_priority + 1, None, -1, exclude=None)


def _shift(
    ctx: CmdletContext,
    table: RuleTable,
    low: int,
    high: int | None,
    delta: int,
    *,
    exclude: str | None,
) -> None:
    ctx.sb.store.execute(
        f"UPDATE {table} SET priority = priority + ? WHERE tenant_id = ?"  # noqa: S608
        " AND priority >= ? AND (? IS NULL OR priority <= ?) AND (? IS NULL OR guid != ?)",
        (delta, ctx.tenant_id, low, high, high, exclude, exclude),
    )
