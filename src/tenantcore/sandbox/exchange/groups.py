"""Distribution groups and mail-enabled security groups, and their members.

Members are mailboxes (the only recipients the sandbox stores). The SMTP host resolves a
sender's groups from `group_member` when it evaluates `FromMemberOf` conditions.
"""

from __future__ import annotations

import uuid
from typing import Any

from tenantcore.sandbox.directory import find_mailbox, new_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.mailboxes import DEFAULT_RESULT_SIZE, limit_rows
from tenantcore.sandbox.exchange.opath import compile_filter
from tenantcore.sandbox.exchange.recipients import (
    check_address,
    distinguished_name,
    ensure_addresses_free,
    ensure_name_free,
    group_proxies,
    lookup_group,
    mailbox_proxies,
    new_recipient,
    organization_id,
    store_proxies,
    validate_alias,
    validate_display_name,
    validate_name,
)
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse

GROUP_TYPES = ("Distribution", "Security")
_GROUP_FILTERABLE = ("Alias", "DisplayName", "EmailAddresses", "Name", "PrimarySmtpAddress")


def group_row(ctx: CmdletContext, group: Row) -> dict[str, Any]:
    security = group["group_type"] == "Security"
    kind = "MailUniversalSecurityGroup" if security else "MailUniversalDistributionGroup"
    created = parse(group["created_at"])
    changed = parse(group["changed_at"])
    guid = uuid.UUID(group["guid"])
    return {
        "Name": group["name"],
        "DisplayName": group["display_name"],
        "Alias": group["alias"],
        "PrimarySmtpAddress": group["primary_smtp_address"],
        "WindowsEmailAddress": group["primary_smtp_address"],
        "EmailAddresses": group_proxies(ctx, group),
        "GroupType": "Universal, SecurityEnabled" if security else "Universal",
        "RecipientType": kind,
        "RecipientTypeDetails": kind,
        "ManagedBy": [],
        "MemberJoinRestriction": "Closed",
        "MemberDepartRestriction": "Closed",
        "RequireSenderAuthenticationEnabled": True,
        "HiddenFromAddressListsEnabled": False,
        "ExternalDirectoryObjectId": str(uuid.uuid5(guid, "entra")),
        "Identity": group["name"],
        "Id": group["name"],
        "DistinguishedName": distinguished_name(ctx, str(group["name"])),
        "OrganizationId": organization_id(ctx),
        "IsValid": True,
        "WhenCreated": created,
        "WhenCreatedUTC": created,
        "WhenChanged": changed,
        "WhenChangedUTC": changed,
        "ExchangeObjectId": guid,
        "Guid": guid,
    }


def member_row(mailbox: Row) -> dict[str, Any]:
    """A member as Get-DistributionGroupMember prints it (a reduced recipient)."""
    return {
        "Name": mailbox["name"],
        "DisplayName": mailbox["display_name"],
        "Alias": mailbox["alias"],
        "PrimarySmtpAddress": mailbox["primary_smtp_address"],
        "EmailAddresses": mailbox_proxies(mailbox),
        "RecipientType": "UserMailbox",
        "RecipientTypeDetails": mailbox["recipient_type_details"],
        "ExternalDirectoryObjectId": mailbox["user_id"],
        "Identity": mailbox["name"],
        "Id": mailbox["name"],
        "IsValid": True,
        "ExchangeObjectId": uuid.UUID(mailbox["guid"]),
        "Guid": uuid.UUID(mailbox["guid"]),
    }


def _member_mailbox(ctx: CmdletContext, identity: str) -> Row:
    mailbox = find_mailbox(ctx.sb, ctx.tenant_id, identity)
    if mailbox is None:
        raise errors.recipient_not_found(identity)
    return mailbox


def _load(ctx: CmdletContext, guid: str) -> Row:
    row = ctx.sb.store.one("SELECT * FROM distribution_group WHERE guid = ?", (guid,))
    assert row is not None
    return row


def new_group(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    recipient = new_recipient(ctx, params)
    name, alias, display_name = recipient.name, recipient.alias, recipient.display_name
    primary, proxies = recipient.primary, recipient.proxies
    members = [_member_mailbox(ctx, member) for member in params.get("Members") or []]
    guid, stamp = new_guid(), iso(ctx.now)
    ctx.sb.store.execute(
        "INSERT INTO distribution_group(guid, tenant_id, name, alias, display_name,"
        " primary_smtp_address, group_type, created_at, changed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guid,
            ctx.tenant_id,
            name,
            alias,
            display_name,
            primary,
            params.get("Type", "Distribution"),
            stamp,
            stamp,
        ),
    )
    store_proxies(ctx, "group", guid, proxies)
    for mailbox in members:
        ctx.sb.store.execute(
            "INSERT OR IGNORE INTO group_member(group_guid, member_guid) VALUES (?, ?)",
            (guid, mailbox["guid"]),
        )
    return CmdletResult(rows=[group_row(ctx, _load(ctx, guid))])


def get_group(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        groups = [lookup_group(ctx, params["Identity"])]
    else:
        groups = ctx.sb.store.all(
            "SELECT * FROM distribution_group WHERE tenant_id = ? ORDER BY name", (ctx.tenant_id,)
        )
    rows = [group_row(ctx, group) for group in groups]
    if "Filter" in params:
        predicate = compile_filter(
            params["Filter"], {name.lower(): name for name in _GROUP_FILTERABLE}
        )
        rows = [row for row in rows if predicate(row)]
    return limit_rows(rows, params.get("ResultSize", DEFAULT_RESULT_SIZE), "ResultSize" in params)


def set_group(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    group = lookup_group(ctx, params["Identity"])
    updates: dict[str, Any] = {}
    if "Name" in params:
        updates["name"] = validate_name(params["Name"])
    if "Alias" in params:
        updates["alias"] = validate_alias(params["Alias"])
    ensure_name_free(
        ctx, name=updates.get("name"), alias=updates.get("alias"), owner_guid=group["guid"]
    )
    if "DisplayName" in params:
        updates["display_name"] = validate_display_name(params["DisplayName"])
    if "PrimarySmtpAddress" in params:
        primary = check_address(ctx, params["PrimarySmtpAddress"], "PrimarySmtpAddress")
        ensure_addresses_free(ctx, [f"SMTP:{primary}"], owner_guid=group["guid"])
        updates["primary_smtp_address"] = primary
        # The previous primary stays on the group as a secondary address.
        kept = [
            proxy.replace("SMTP:", "smtp:", 1)
            for proxy in group_proxies(ctx, group)
            if proxy.partition(":")[2].lower() != primary.lower()
        ]
        store_proxies(ctx, "group", group["guid"], [f"SMTP:{primary}", *kept])
    updates["changed_at"] = iso(ctx.now)
    assignments = ", ".join(f"{column} = ?" for column in updates)
    ctx.sb.store.execute(
        f"UPDATE distribution_group SET {assignments} WHERE guid = ?",  # noqa: S608 - fixed columns
        (*updates.values(), group["guid"]),
    )
    return CmdletResult()


def remove_group(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    group = lookup_group(ctx, params["Identity"])
    ctx.sb.store.execute(
        "DELETE FROM proxy_address WHERE tenant_id = ? AND owner_kind = 'group' AND owner_guid = ?",
        (ctx.tenant_id, group["guid"]),
    )
    ctx.sb.store.execute("DELETE FROM distribution_group WHERE guid = ?", (group["guid"],))
    return CmdletResult()


def _is_member(ctx: CmdletContext, group: Row, mailbox: Row) -> bool:
    return (
        ctx.sb.store.one(
            "SELECT 1 FROM group_member WHERE group_guid = ? AND member_guid = ?",
            (group["guid"], mailbox["guid"]),
        )
        is not None
    )


def add_member(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    group = lookup_group(ctx, params["Identity"])
    mailbox = _member_mailbox(ctx, params["Member"])
    if _is_member(ctx, group, mailbox):
        raise errors.CmdletError(
            400,
            errors.MEMBER_ALREADY_EXISTS,
            f'The recipient "{params["Member"]}" is already a member of the group'
            f' "{group["name"]}".',
        )
    ctx.sb.store.execute(
        "INSERT INTO group_member(group_guid, member_guid) VALUES (?, ?)",
        (group["guid"], mailbox["guid"]),
    )
    return CmdletResult()


def remove_member(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    group = lookup_group(ctx, params["Identity"])
    mailbox = _member_mailbox(ctx, params["Member"])
    if not _is_member(ctx, group, mailbox):
        raise errors.CmdletError(
            400,
            errors.MEMBER_NOT_FOUND,
            f'The recipient "{params["Member"]}" isn\'t a member of the group "{group["name"]}".',
        )
    ctx.sb.store.execute(
        "DELETE FROM group_member WHERE group_guid = ? AND member_guid = ?",
        (group["guid"], mailbox["guid"]),
    )
    return CmdletResult()


def get_members(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    group = lookup_group(ctx, params["Identity"])
    mailboxes = ctx.sb.store.all(
        "SELECT m.* FROM group_member gm JOIN mailbox m ON m.guid = gm.member_guid"
        " WHERE gm.group_guid = ? ORDER BY m.name",
        (group["guid"],),
    )
    rows = [member_row(mailbox) for mailbox in mailboxes]
    return limit_rows(rows, params.get("ResultSize", DEFAULT_RESULT_SIZE), "ResultSize" in params)


_IDENTITY = Param("Identity", cv.identity(), required=True)
_MEMBER = Param("Member", cv.identity(), required=True)

CMDLETS = (
    Cmdlet(
        "New-DistributionGroup",
        new_group,
        (
            Param("Name", cv.text(), required=True),
            Param("Alias", cv.text()),
            Param("DisplayName", cv.text()),
            Param("PrimarySmtpAddress", cv.text()),
            Param("Type", cv.choice(GROUP_TYPES, "Microsoft.Exchange.Data.GroupType")),
            Param("Members", cv.text_list()),
        ),
    ),
    Cmdlet(
        "Get-DistributionGroup",
        get_group,
        (
            Param("Identity", cv.identity()),
            Param("Filter", cv.text()),
            Param("ResultSize", cv.result_size()),
        ),
        paged=True,
    ),
    Cmdlet(
        "Set-DistributionGroup",
        set_group,
        (
            _IDENTITY,
            Param("Name", cv.text()),
            Param("Alias", cv.text()),
            Param("DisplayName", cv.text()),
            Param("PrimarySmtpAddress", cv.text()),
        ),
    ),
    Cmdlet("Remove-DistributionGroup", remove_group, (_IDENTITY,)),
    Cmdlet("Add-DistributionGroupMember", add_member, (_IDENTITY, _MEMBER)),
    Cmdlet("Remove-DistributionGroupMember", remove_member, (_IDENTITY, _MEMBER)),
    Cmdlet(
        "Get-DistributionGroupMember",
        get_members,
        (_IDENTITY, Param("ResultSize", cv.result_size())),
        paged=True,
    ),
)
