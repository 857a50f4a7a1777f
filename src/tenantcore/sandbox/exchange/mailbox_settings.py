"""Set-Mailbox and the CAS settings cmdlets (wire reference 4.2, 4.3.4).

`SmtpClientAuthenticationDisabled` on a mailbox is tri-state: true, false, or null to inherit
the organization's `Set-TransportConfig` value; the SMTP host reads the stored column.
"""

from __future__ import annotations

import uuid
from typing import Any

from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.converters import MultiValueChange
from tenantcore.sandbox.exchange.mailboxes import DEFAULT_RESULT_SIZE, limit_rows
from tenantcore.sandbox.exchange.recipients import (
    check_address,
    ensure_addresses_free,
    lookup_mailbox,
    mailbox_proxies,
    store_proxies,
    validate_display_name,
)
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso

_RECIPIENT_LIMIT_MAX = 1000


def _normalize(entry: str) -> str:
    """`x@d` -> `smtp:x@d`; prefixed entries keep their prefix (`SMTP:` marks the primary)."""
    prefix, sep, rest = entry.partition(":")
    if sep and "@" not in prefix:
        return f"{prefix}:{rest}"
    return f"smtp:{entry}"


def _address(proxy: str) -> str:
    return proxy.partition(":")[2].lower()


def _is_smtp(proxy: str) -> bool:
    return proxy.partition(":")[0].lower() == "smtp"


def changed_proxies(current: list[str], change: MultiValueChange) -> list[str]:
    """The proxy list after `-EmailAddresses` (a full list, or an Add/Remove hashtable)."""
    old_primary = next((p for p in current if p.startswith("SMTP:")), None)
    if change.replace is not None:
        result = [_normalize(entry) for entry in change.replace]
        if not any(p.startswith("SMTP:") for p in result) and old_primary is not None:
            # Without an explicit primary the current one stays primary if it is kept.
            result = [
                f"SMTP:{p[5:]}" if _is_smtp(p) and _address(p) == _address(old_primary) else p
                for p in result
            ]
    else:
        result = list(current)
        for entry in change.add:
            proxy = _normalize(entry)
            if proxy.startswith("SMTP:"):
                result = [f"smtp:{p[5:]}" if p.startswith("SMTP:") else p for p in result]
            result = [p for p in result if _address(p) != _address(proxy)] + [proxy]
        for entry in change.remove:
            gone = _address(_normalize(entry))
            if old_primary is not None and gone == _address(old_primary):
                raise errors.invalid_value(
                    f'The primary SMTP address "{old_primary[5:]}" can\'t be removed. Set another'
                    " primary SMTP address first."
                )
            result = [p for p in result if _address(p) != gone]
    primaries = [p for p in result if p.startswith("SMTP:")]
    if len(primaries) != 1:
        raise errors.invalid_value(
            "The EmailAddresses property must contain exactly one primary SMTP address"
            ' (prefix "SMTP:").'
        )
    unique: dict[str, str] = {}
    for proxy in result:
        unique.setdefault(_address(proxy) if _is_smtp(proxy) else proxy.lower(), proxy)
    return list(unique.values())


def _apply_addresses(ctx: CmdletContext, mailbox: Row, change: MultiValueChange) -> None:
    proxies = changed_proxies(mailbox_proxies(mailbox), change)
    for proxy in proxies:
        if _is_smtp(proxy):
            check_address(ctx, proxy.partition(":")[2], "EmailAddresses")
    ensure_addresses_free(ctx, [p for p in proxies if _is_smtp(p)], owner_guid=mailbox["guid"])
    primary = next(p for p in proxies if p.startswith("SMTP:")).partition(":")[2]
    ctx.sb.store.execute(
        "UPDATE mailbox SET email_addresses = ?, primary_smtp_address = ? WHERE guid = ?",
        (dumps(proxies), primary, mailbox["guid"]),
    )
    ctx.sb.store.execute(
        "UPDATE directory_user SET mail = ? WHERE id = ?", (primary, mailbox["user_id"])
    )
    store_proxies(ctx, "mailbox", mailbox["guid"], proxies)


def set_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    mailbox = lookup_mailbox(ctx, params["Identity"])
    if "DisplayName" in params:
        display_name = validate_display_name(params["DisplayName"])
        ctx.sb.store.execute(
            "UPDATE mailbox SET display_name = ? WHERE guid = ?", (display_name, mailbox["guid"])
        )
        # The Entra account shows the same name (directory sync, immediate here).
        ctx.sb.store.execute(
            "UPDATE directory_user SET display_name = ? WHERE id = ?",
            (display_name, mailbox["user_id"]),
        )
    if "RecipientLimits" in params:
        ctx.sb.store.execute(
            "UPDATE mailbox SET recipient_limits = ? WHERE guid = ?",
            (params["RecipientLimits"], mailbox["guid"]),
        )
    if "EmailAddresses" in params:
        _apply_addresses(ctx, mailbox, params["EmailAddresses"])
    ctx.sb.store.execute(
        "UPDATE mailbox SET changed_at = ? WHERE guid = ?", (iso(ctx.now), mailbox["guid"])
    )
    return CmdletResult()


def cas_row(mailbox: Row) -> dict[str, Any]:
    disabled = mailbox["smtp_auth_disabled"]
    return {
        "Name": mailbox["name"],
        "Identity": mailbox["name"],
        "Id": mailbox["name"],
        "DisplayName": mailbox["display_name"],
        "PrimarySmtpAddress": mailbox["primary_smtp_address"],
        "EmailAddresses": mailbox_proxies(mailbox),
        "ExternalDirectoryObjectId": mailbox["user_id"],
        "SmtpClientAuthenticationDisabled": None if disabled is None else bool(disabled),
        "ActiveSyncEnabled": True,
        "OWAEnabled": True,
        "PopEnabled": True,
        "ImapEnabled": True,
        "MAPIEnabled": True,
        "EwsEnabled": True,
        "IsValid": True,
        "ExchangeObjectId": uuid.UUID(mailbox["guid"]),
        "Guid": uuid.UUID(mailbox["guid"]),
    }


def get_cas_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        return CmdletResult(rows=[cas_row(lookup_mailbox(ctx, params["Identity"]))])
    rows = [
        cas_row(mailbox)
        for mailbox in ctx.sb.store.all(
            "SELECT * FROM mailbox WHERE tenant_id = ? ORDER BY name", (ctx.tenant_id,)
        )
    ]
    return limit_rows(rows, params.get("ResultSize", DEFAULT_RESULT_SIZE), "ResultSize" in params)


def set_cas_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    mailbox = lookup_mailbox(ctx, params["Identity"])
    if "SmtpClientAuthenticationDisabled" in params:
        value = params["SmtpClientAuthenticationDisabled"]
        ctx.sb.store.execute(
            "UPDATE mailbox SET smtp_auth_disabled = ?, changed_at = ? WHERE guid = ?",
            (None if value is None else int(value), iso(ctx.now), mailbox["guid"]),
        )
    return CmdletResult()


CMDLETS = (
    Cmdlet(
        "Set-Mailbox",
        set_mailbox,
        (
            Param("Identity", cv.identity(), required=True),
            Param("DisplayName", cv.text()),
            Param("RecipientLimits", cv.integer(1, _RECIPIENT_LIMIT_MAX)),
            Param("EmailAddresses", cv.multi_value_change()),
        ),
    ),
    Cmdlet(
        "Get-CASMailbox",
        get_cas_mailbox,
        (Param("Identity", cv.identity()), Param("ResultSize", cv.result_size())),
        paged=True,
    ),
    Cmdlet(
        "Set-CASMailbox",
        set_cas_mailbox,
        (
            Param("Identity", cv.identity(), required=True),
            Param("SmtpClientAuthenticationDisabled", cv.boolean(nullable=True)),
        ),
    ),
)
