"""New-Mailbox -Shared, Get-Mailbox and Remove-Mailbox (wire reference 4.3).

A shared mailbox is two rows linked by `ExternalDirectoryObjectId`: the Entra account
(`directory_user`, disabled and without a password until Graph enables it) and the Exchange
mailbox, which becomes usable for SMTP once its propagation delay has passed.
"""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tenantcore.sandbox.directory import new_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.opath import compile_filter
from tenantcore.sandbox.exchange.recipients import (
    distinguished_name,
    lookup_mailbox,
    mailbox_proxies,
    new_recipient,
    organization_id,
    store_proxies,
)
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.exchange.serialize import size_text
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso, parse

RECIPIENT_TYPE_DETAILS = (
    "DiscoveryMailbox",
    "EquipmentMailbox",
    "GroupMailbox",
    "LegacyMailbox",
    "LinkedMailbox",
    "LinkedRoomMailbox",
    "RoomMailbox",
    "SchedulingMailbox",
    "SharedMailbox",
    "TeamMailbox",
    "UserMailbox",
)
_RTD_TYPE = "Microsoft.Exchange.Data.Directory.Recipient.RecipientTypeDetails"
DEFAULT_RESULT_SIZE = 1000
DEFAULT_SIZE_WARNING = (
    "By default, only the first 1000 items are returned. Use the ResultSize parameter to"
    ' specify the number of items returned. To return all items, specify "-ResultSize'
    ' Unlimited". Be aware that, depending on the actual number of items, returning all items'
    " can take a long time and consume a large amount of memory. Also, we don't recommend"
    " storing the results in a variable. Instead, pipe the results to another task or script"
    " to perform batch changes."
)
EXPLICIT_SIZE_WARNING = (
    "There are more results available than are currently displayed. To view them, increase the"
    " value for the ResultSize parameter."
)
_MAILBOX_FILTERABLE = (
    "AccountDisabled",
    "Alias",
    "DisplayName",
    "EmailAddresses",
    "ExchangeGuid",
    "ExternalDirectoryObjectId",
    "Guid",
    "HiddenFromAddressListsEnabled",
    "IsShared",
    "Name",
    "PrimarySmtpAddress",
    "RecipientType",
    "RecipientTypeDetails",
    "UserPrincipalName",
    "WindowsEmailAddress",
)
_SHARED_QUOTA = 50 * (1 << 30)


def load_user(ctx: CmdletContext, mailbox: Row) -> Row | None:
    return ctx.sb.store.one("SELECT * FROM directory_user WHERE id = ?", (mailbox["user_id"],))


def mailbox_row(ctx: CmdletContext, mailbox: Row) -> dict[str, Any]:
    """A mailbox as Get-Mailbox prints it (wire reference 3.3)."""
    user = load_user(ctx, mailbox)
    upn = str(user["user_principal_name"]) if user else str(mailbox["primary_smtp_address"])
    created = parse(mailbox["created_at"])
    changed = parse(mailbox["changed_at"])
    shared = mailbox["recipient_type_details"] == "SharedMailbox"
    quota = _SHARED_QUOTA
    return {
        "Database": "SBXPR01DG001-db001",
        "ExchangeGuid": uuid.UUID(mailbox["exchange_guid"]),
        "RecipientLimits": str(mailbox["recipient_limits"]),
        "IsShared": shared,
        "IsMailboxEnabled": True,
        "ProhibitSendQuota": size_text(quota - (1 << 29)),
        "ProhibitSendReceiveQuota": size_text(quota),
        "UserPrincipalName": upn,
        "WindowsLiveID": upn,
        "MicrosoftOnlineServicesID": upn,
        "ForwardingSmtpAddress": None,
        "WhenMailboxCreated": created,
        "AccountDisabled": not bool(user["account_enabled"]) if user else True,
        "Alias": mailbox["alias"],
        "DisplayName": mailbox["display_name"],
        "EmailAddresses": mailbox_proxies(mailbox),
        "EmailAddressPolicyEnabled": False,
        "ExternalDirectoryObjectId": mailbox["user_id"],
        "HiddenFromAddressListsEnabled": False,
        "MaxSendSize": size_text(35 * (1 << 20)),
        "MaxReceiveSize": size_text(36 * (1 << 20)),
        "PrimarySmtpAddress": mailbox["primary_smtp_address"],
        "WindowsEmailAddress": mailbox["primary_smtp_address"],
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": mailbox["recipient_type_details"],
        "Identity": mailbox["name"],
        "Id": mailbox["name"],
        "Name": mailbox["name"],
        "DistinguishedName": distinguished_name(ctx, str(mailbox["name"])),
        "IsValid": True,
        "WhenCreated": created,
        "WhenCreatedUTC": created,
        "WhenChanged": changed,
        "WhenChangedUTC": changed,
        "ExchangeObjectId": uuid.UUID(mailbox["guid"]),
        "OrganizationId": organization_id(ctx),
        "Guid": uuid.UUID(mailbox["guid"]),
    }


def limit_rows(rows: list[dict[str, Any]], result_size: int | None, explicit: bool) -> CmdletResult:
    """Apply ResultSize (None = Unlimited) with Exchange's truncation warnings."""
    if result_size is None or len(rows) <= result_size:
        return CmdletResult(rows=rows)
    warning = EXPLICIT_SIZE_WARNING if explicit else DEFAULT_SIZE_WARNING
    return CmdletResult(rows=rows[:result_size], warnings=[warning])


def new_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if not params.get("Shared"):
        # Only the Shared parameter set exists here; user mailboxes need a licence and Graph.
        raise errors.ambiguous_parameter_set()
    recipient = new_recipient(ctx, params)
    name, alias, display_name = recipient.name, recipient.alias, recipient.display_name
    primary, proxies = recipient.primary, recipient.proxies
    if ctx.sb.config.shared_mailbox_upn == "primary_smtp_address":
        upn = primary
    else:
        upn = f"{alias}@{ctx.initial_domain}"
    if ctx.sb.store.one(
        "SELECT 1 FROM directory_user WHERE tenant_id = ? AND user_principal_name = ?",
        (ctx.tenant_id, upn),
    ):
        raise errors.already_exists(distinguished_name(ctx, upn))
    stamp = iso(ctx.now)
    user_id, guid = new_guid(), new_guid()
    ready_at = iso(ctx.now + timedelta(seconds=ctx.sb.runtime.propagation_delay()))
    ctx.sb.store.execute(
        "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
        " mail_nickname, mail, account_enabled, password_hash, created_at)"
        " VALUES (?, ?, ?, ?, ?, ?, 0, NULL, ?)",
        (user_id, ctx.tenant_id, upn, display_name, alias, primary, stamp),
    )
    ctx.sb.store.execute(
        "INSERT INTO mailbox(guid, tenant_id, user_id, exchange_guid, name, alias, display_name,"
        " primary_smtp_address, email_addresses, recipient_type_details, smtp_auth_disabled,"
        " recipient_limits, created_at, changed_at, ready_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, 'SharedMailbox', NULL, 500, ?, ?, ?)",
        (
            guid,
            ctx.tenant_id,
            user_id,
            new_guid(),
            name,
            alias,
            display_name,
            primary,
            dumps(proxies),
            stamp,
            stamp,
            ready_at,
        ),
    )
    store_proxies(ctx, "mailbox", guid, proxies)
    created = ctx.sb.store.one("SELECT * FROM mailbox WHERE guid = ?", (guid,))
    assert created is not None
    return CmdletResult(rows=[mailbox_row(ctx, created)])


def get_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        mailboxes = [lookup_mailbox(ctx, params["Identity"])]
    else:
        mailboxes = ctx.sb.store.all(
            "SELECT * FROM mailbox WHERE tenant_id = ? ORDER BY name", (ctx.tenant_id,)
        )
    wanted_types = set(params.get("RecipientTypeDetails") or [])
    rows = [
        mailbox_row(ctx, mailbox)
        for mailbox in mailboxes
        if not wanted_types or mailbox["recipient_type_details"] in wanted_types
    ]
    if "Filter" in params:
        predicate = compile_filter(
            params["Filter"], {name.lower(): name for name in _MAILBOX_FILTERABLE}
        )
        rows = [row for row in rows if predicate(row)]
    size = params.get("ResultSize", DEFAULT_RESULT_SIZE)
    return limit_rows(rows, size, "ResultSize" in params)


def remove_mailbox(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    # No replication lag here: a spurious 404 would tell the caller the mailbox is gone.
    mailbox = lookup_mailbox(ctx, params["Identity"], lagging=False)
    ctx.sb.store.execute(
        "DELETE FROM proxy_address WHERE tenant_id = ? AND owner_kind = 'mailbox'"
        " AND owner_guid = ?",
        (ctx.tenant_id, mailbox["guid"]),
    )
    ctx.sb.store.execute("DELETE FROM group_member WHERE member_guid = ?", (mailbox["guid"],))
    ctx.sb.store.execute("DELETE FROM mailbox WHERE guid = ?", (mailbox["guid"],))
    # Removing a mailbox in the cloud also deletes its Entra account.
    ctx.sb.store.execute("DELETE FROM directory_user WHERE id = ?", (mailbox["user_id"],))
    return CmdletResult()


CMDLETS = (
    Cmdlet(
        "New-Mailbox",
        new_mailbox,
        (
            Param("Name", cv.text(), required=True),
            Param("Shared", cv.switch()),
            Param("Alias", cv.text()),
            Param("DisplayName", cv.text()),
            Param("PrimarySmtpAddress", cv.text()),
        ),
    ),
    Cmdlet(
        "Get-Mailbox",
        get_mailbox,
        (
            Param("Identity", cv.identity()),
            Param("RecipientTypeDetails", cv.choice_list(RECIPIENT_TYPE_DETAILS, _RTD_TYPE)),
            Param("Filter", cv.text()),
            Param("ResultSize", cv.result_size()),
        ),
        paged=True,
    ),
    Cmdlet(
        "Remove-Mailbox",
        remove_mailbox,
        (Param("Identity", cv.identity(), required=True), Param("Permanent", cv.boolean())),
    ),
)
