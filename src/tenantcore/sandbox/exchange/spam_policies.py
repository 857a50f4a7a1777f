"""Outbound spam filter policies: New/Get/Set/Remove-HostedOutboundSpamFilterPolicy (wire 4.4).

Every tenant has the `Default` policy (created with the tenant): it can be changed but not
removed, and it applies to every sender no custom policy's rule matches. Changing policies
needs a hydrated organization.
"""

from __future__ import annotations

import uuid
from typing import Any

from tenantcore.sandbox.directory import is_guid, new_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.recipients import validate_name
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse

ACTIONS = ("Alert", "BlockUserForToday", "BlockUser")
FORWARDING_MODES = ("Automatic", "On", "Off")
RECIPIENT_LIMIT_MAX = 10_000
# Parameter -> column. All limits are 0..10000 recipients, 0 meaning the service default.
_LIMIT_COLUMNS = {
    "RecipientLimitExternalPerHour": "recipient_limit_external_per_hour",
    "RecipientLimitInternalPerHour": "recipient_limit_internal_per_hour",
    "RecipientLimitPerDay": "recipient_limit_per_day",
}
_OTHER_COLUMNS = {
    "ActionWhenThresholdReached": "action",
    "AutoForwardingMode": "auto_forwarding_mode",
    "AdminDisplayName": "admin_display_name",
}


def find_policy(ctx: CmdletContext, identity: str) -> Row | None:
    key = identity.strip()
    column = "guid" if is_guid(key) else "name"
    return ctx.sb.store.one(
        f"SELECT * FROM spam_policy WHERE tenant_id = ? AND {column} = ?",  # noqa: S608
        (ctx.tenant_id, key.lower() if column == "guid" else key),
    )


def lookup_policy(ctx: CmdletContext, identity: str) -> Row:
    row = find_policy(ctx, identity)
    if row is None:
        raise errors.not_found(identity)
    return row


def policy_row(policy: Row) -> dict[str, Any]:
    guid = uuid.UUID(policy["guid"])
    created = parse(policy["created_at"])
    changed = parse(policy["changed_at"])
    return {
        "Name": policy["name"],
        "Identity": policy["name"],
        "Id": policy["name"],
        "IsDefault": bool(policy["is_default"]),
        "AdminDisplayName": policy["admin_display_name"] or "",
        "RecipientLimitExternalPerHour": int(policy["recipient_limit_external_per_hour"]),
        "RecipientLimitInternalPerHour": int(policy["recipient_limit_internal_per_hour"]),
        "RecipientLimitPerDay": int(policy["recipient_limit_per_day"]),
        "ActionWhenThresholdReached": policy["action"],
        "AutoForwardingMode": policy["auto_forwarding_mode"],
        "NotifyOutboundSpam": False,
        "BccSuspiciousOutboundMail": False,
        "IsValid": True,
        "ObjectState": "Unchanged",
        "WhenCreated": created,
        "WhenCreatedUTC": created,
        "WhenChanged": changed,
        "WhenChangedUTC": changed,
        "ExchangeObjectId": guid,
        "Guid": guid,
    }


def _settings(params: dict[str, Any]) -> dict[str, Any]:
    columns = {**_LIMIT_COLUMNS, **_OTHER_COLUMNS}
    return {column: params[name] for name, column in columns.items() if name in params}


def new_policy(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    name = validate_name(params["Name"])
    if find_policy(ctx, name) is not None:
        raise errors.already_exists(name)
    guid, stamp = new_guid(), iso(ctx.now)
    settings = _settings(params)
    columns = ["guid", "tenant_id", "name", "created_at", "changed_at", *settings]
    values = [guid, ctx.tenant_id, name, stamp, stamp, *settings.values()]
    ctx.sb.store.execute(
        f"INSERT INTO spam_policy({', '.join(columns)})"  # noqa: S608 - fixed columns
        f" VALUES ({', '.join('?' * len(columns))})",
        tuple(values),
    )
    return CmdletResult(rows=[policy_row(lookup_policy(ctx, guid))])


def get_policies(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        return CmdletResult(rows=[policy_row(lookup_policy(ctx, params["Identity"]))])
    policies = ctx.sb.store.all(
        "SELECT * FROM spam_policy WHERE tenant_id = ? ORDER BY is_default DESC, created_at, name",
        (ctx.tenant_id,),
    )
    return CmdletResult(rows=[policy_row(policy) for policy in policies])


def set_policy(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    policy = lookup_policy(ctx, params["Identity"])
    updates = {**_settings(params), "changed_at": iso(ctx.now)}
    assignments = ", ".join(f"{column} = ?" for column in updates)
    ctx.sb.store.execute(
        f"UPDATE spam_policy SET {assignments} WHERE guid = ?",  # noqa: S608 - fixed columns
        (*updates.values(), policy["guid"]),
    )
    return CmdletResult()


def remove_policy(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    policy = lookup_policy(ctx, params["Identity"])
    if policy["is_default"]:
        raise errors.invalid_operation("The default policy can't be removed.")
    # A rule bound to the policy stays (Microsoft documents the same), and no longer applies.
    ctx.sb.store.execute("DELETE FROM spam_policy WHERE guid = ?", (policy["guid"],))
    return CmdletResult()


def _settings_params() -> tuple[Param, ...]:
    limits = tuple(
        Param(name, cv.integer(0, RECIPIENT_LIMIT_MAX, type_name="System.UInt32"))
        for name in _LIMIT_COLUMNS
    )
    return (
        *limits,
        Param(
            "ActionWhenThresholdReached",
            cv.choice(ACTIONS, "Microsoft.Exchange.Data.OutboundRecipientLimitsExceededAction"),
        ),
        Param(
            "AutoForwardingMode",
            cv.choice(FORWARDING_MODES, "Microsoft.Exchange.Data.AutoForwardingMode"),
        ),
        Param("AdminDisplayName", cv.text(nullable=True)),
    )


_IDENTITY = Param("Identity", cv.identity(), required=True)

CMDLETS = (
    Cmdlet(
        "New-HostedOutboundSpamFilterPolicy",
        new_policy,
        (Param("Name", cv.text(), required=True), *_settings_params()),
    ),
    Cmdlet(
        "Get-HostedOutboundSpamFilterPolicy",
        get_policies,
        (Param("Identity", cv.identity()),),
        paged=True,
    ),
    Cmdlet("Set-HostedOutboundSpamFilterPolicy", set_policy, (_IDENTITY, *_settings_params())),
    Cmdlet("Remove-HostedOutboundSpamFilterPolicy", remove_policy, (_IDENTITY,)),
)
