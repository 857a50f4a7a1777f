"""Service principals and mailbox permissions: what an application needs before it may send
as a mailbox over SMTP with OAuth (XOAUTH2, wire reference 1.4 and 7.1).

As in Exchange Online: `New-ServicePrincipal -AppId <app id> -ObjectId <Entra object id>`
registers an Entra service principal in Exchange (only once per application); then
`Add-MailboxPermission -Identity <mailbox> -User <service principal> -AccessRights FullAccess`
lets it open the mailbox. The `-User` of a permission and the `-Identity` of a service
principal may be given as its object id, application id or display name. Adding a permission
that exists is accepted with a warning, as Exchange does; removing one that does not exist is
an error. Removing a service principal removes its permissions. Only `FullAccess` is modelled.
"""

from __future__ import annotations

from typing import Any

from tenantcore.sandbox.directory import find_mailbox, is_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse

FULL_ACCESS = "FullAccess"
_ACCESS_RIGHTS = cv.choice_list(
    (FULL_ACCESS, "ExternalAccount", "DeleteItem", "ReadPermission", "ChangePermission",
     "ChangeOwner", "SendAs"),
    "Microsoft.Exchange.Management.RecipientTasks.MailboxRights",
)  # fmt: skip
_INHERITANCE = cv.choice(
    ("None", "All", "Children", "Descendents", "SelfAndChildren"),
    "System.DirectoryServices.ActiveDirectorySecurityInheritance",
)


def find_service_principal(ctx: CmdletContext, identity: str) -> Row | None:
    key = identity.strip()
    if is_guid(key):
        return ctx.sb.store.one(
            "SELECT * FROM service_principal WHERE tenant_id = ? AND (object_id = ? OR app_id = ?)",
            (ctx.tenant_id, key.lower(), key.lower()),
        )
    return ctx.sb.store.one(
        "SELECT * FROM service_principal WHERE tenant_id = ? AND display_name = ?",
        (ctx.tenant_id, key),
    )


def _principal_view(row: Row) -> dict[str, Any]:
    created = parse(row["created_at"])
    return {
        "AppId": row["app_id"],
        "ObjectId": row["object_id"],
        "ServiceId": row["object_id"],
        "DisplayName": row["display_name"],
        "Identity": row["object_id"],
        "Name": row["object_id"],
        "Id": row["object_id"],
        "WhenCreatedUTC": created,
        "WhenChangedUTC": created,
    }


def new_service_principal(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    app_id = params["AppId"].strip().lower()
    object_id = (params.get("ObjectId") or params.get("ServiceId") or "").strip().lower()
    if not object_id:
        raise errors.missing_parameters(["ObjectId"])
    if not is_guid(app_id) or not is_guid(object_id):
        raise errors.invalid_value("AppId and ObjectId must be GUIDs.")
    existing = ctx.sb.store.one(
        "SELECT * FROM service_principal WHERE tenant_id = ? AND (app_id = ? OR object_id = ?)",
        (ctx.tenant_id, app_id, object_id),
    )
    if existing is not None:
        raise errors.already_exists(str(existing["object_id"]))
    ctx.sb.store.execute(
        "INSERT INTO service_principal(tenant_id, object_id, app_id, display_name, created_at)"
        " VALUES (?, ?, ?, ?, ?)",
        (ctx.tenant_id, object_id, app_id, params.get("DisplayName") or app_id, iso(ctx.now)),
    )
    row = find_service_principal(ctx, object_id)
    assert row is not None
    return CmdletResult(rows=[_principal_view(row)])


def get_service_principal(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        row = find_service_principal(ctx, params["Identity"])
        if row is None:
            raise errors.not_found(params["Identity"])
        return CmdletResult(rows=[_principal_view(row)])
    rows = ctx.sb.store.all(
        "SELECT * FROM service_principal WHERE tenant_id = ? ORDER BY created_at, object_id",
        (ctx.tenant_id,),
    )
    return CmdletResult(rows=[_principal_view(row) for row in rows])


def remove_service_principal(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    row = find_service_principal(ctx, params["Identity"])
    if row is None:
        raise errors.not_found(params["Identity"])
    ctx.sb.store.execute(
        "DELETE FROM mailbox_permission WHERE trustee = ? AND mailbox_guid IN"
        " (SELECT guid FROM mailbox WHERE tenant_id = ?)",
        (row["object_id"], ctx.tenant_id),
    )
    ctx.sb.store.execute(
        "DELETE FROM service_principal WHERE tenant_id = ? AND object_id = ?",
        (ctx.tenant_id, row["object_id"]),
    )
    return CmdletResult()


def _mailbox(ctx: CmdletContext, identity: str) -> Row:
    mailbox = find_mailbox(ctx.sb, ctx.tenant_id, identity)
    if mailbox is None:
        raise errors.not_found(identity)
    return mailbox


def _trustee(ctx: CmdletContext, user: str) -> Row:
    principal = find_service_principal(ctx, user)
    if principal is None:
        raise errors.recipient_not_found(user)
    return principal


def _permission_view(mailbox: Row, principal: Row, row: Row) -> dict[str, Any]:
    return {
        "Identity": mailbox["name"],
        "User": principal["display_name"],
        "UserSid": f"S-1-5-21-{principal['object_id']}",
        "AccessRights": [row["access_right"]],
        "IsInherited": False,
        "Deny": False,
        "InheritanceType": "All",
        "WhenCreatedUTC": parse(row["created_at"]),
    }


def add_mailbox_permission(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    mailbox = _mailbox(ctx, params["Identity"])
    principal = _trustee(ctx, params["User"])
    rights = params["AccessRights"]
    if rights != [FULL_ACCESS]:
        raise errors.invalid_value("The sandbox grants FullAccess only.")
    granted = ctx.sb.store.one(
        "SELECT * FROM mailbox_permission WHERE mailbox_guid = ? AND trustee = ?"
        " AND access_right = ?",
        (mailbox["guid"], principal["object_id"], FULL_ACCESS),
    )
    if granted is not None:
        return CmdletResult(
            rows=[_permission_view(mailbox, principal, granted)],
            warnings=[
                f"An existing permission entry was found for user: {principal['display_name']}."
            ],
        )
    ctx.sb.store.execute(
        "INSERT INTO mailbox_permission(mailbox_guid, trustee, access_right, created_at)"
        " VALUES (?, ?, ?, ?)",
        (mailbox["guid"], principal["object_id"], FULL_ACCESS, iso(ctx.now)),
    )
    row = ctx.sb.store.one(
        "SELECT * FROM mailbox_permission WHERE mailbox_guid = ? AND trustee = ?",
        (mailbox["guid"], principal["object_id"]),
    )
    assert row is not None
    return CmdletResult(rows=[_permission_view(mailbox, principal, row)])


def get_mailbox_permission(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    mailbox = _mailbox(ctx, params["Identity"])
    trustee = _trustee(ctx, params["User"]) if "User" in params else None
    rows = ctx.sb.store.all(
        "SELECT p.*, s.object_id, s.app_id, s.display_name FROM mailbox_permission p"
        " JOIN service_principal s ON s.object_id = p.trustee AND s.tenant_id = ?"
        " WHERE p.mailbox_guid = ? ORDER BY p.created_at, p.trustee",
        (ctx.tenant_id, mailbox["guid"]),
    )
    views = [
        _permission_view(mailbox, row, row)
        for row in rows
        if trustee is None or row["trustee"] == trustee["object_id"]
    ]
    return CmdletResult(rows=views)


def remove_mailbox_permission(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    mailbox = _mailbox(ctx, params["Identity"])
    principal = _trustee(ctx, params["User"])
    removed = ctx.sb.store.execute(
        "DELETE FROM mailbox_permission WHERE mailbox_guid = ? AND trustee = ?"
        " AND access_right = ?",
        (mailbox["guid"], principal["object_id"], FULL_ACCESS),
    )
    if not removed:
        raise errors.invalid_operation(
            f'Can\'t remove the access control entry on the object "{mailbox["name"]}" for '
            f'account "{principal["display_name"]}" because the ACE doesn\'t exist on the '
            "object."
        )
    return CmdletResult()


CMDLETS = (
    Cmdlet(
        "New-ServicePrincipal",
        new_service_principal,
        (
            Param("AppId", cv.text(), required=True),
            Param("ObjectId", cv.text()),
            Param("ServiceId", cv.text()),
            Param("DisplayName", cv.text(nullable=True)),
            Param("Organization", cv.text(nullable=True)),
        ),
    ),
    Cmdlet(
        "Get-ServicePrincipal",
        get_service_principal,
        (Param("Identity", cv.identity()), Param("Organization", cv.text(nullable=True))),
        paged=True,
    ),
    Cmdlet(
        "Remove-ServicePrincipal",
        remove_service_principal,
        (Param("Identity", cv.identity(), required=True),),
    ),
    Cmdlet(
        "Add-MailboxPermission",
        add_mailbox_permission,
        (
            Param("Identity", cv.identity(), required=True),
            Param("User", cv.text(), required=True),
            Param("AccessRights", _ACCESS_RIGHTS, required=True),
            Param("InheritanceType", _INHERITANCE),
            Param("AutoMapping", cv.boolean()),
        ),
    ),
    Cmdlet(
        "Get-MailboxPermission",
        get_mailbox_permission,
        (Param("Identity", cv.identity(), required=True), Param("User", cv.text())),
        paged=True,
    ),
    Cmdlet(
        "Remove-MailboxPermission",
        remove_mailbox_permission,
        (
            Param("Identity", cv.identity(), required=True),
            Param("User", cv.text(), required=True),
            Param("AccessRights", _ACCESS_RIGHTS, required=True),
            Param("InheritanceType", _INHERITANCE),
        ),
    ),
)
