"""Transport (mail flow) rules: New/Get/Set/Remove/Enable/Disable-TransportRule (wire ref 4.6).

The SMTP host applies enabled, enforced rules in priority order; the first reject or delete
decides the message. Changing rules needs a hydrated organization.
"""

from __future__ import annotations

import re
import uuid
from typing import Any

from tenantcore.sandbox.directory import new_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.mailboxes import limit_rows
from tenantcore.sandbox.exchange.recipients import validate_name
from tenantcore.sandbox.exchange.registry import (
    Cmdlet,
    CmdletContext,
    CmdletResult,
    Converter,
    Param,
)
from tenantcore.sandbox.exchange.rule_common import (
    SENDER_CONDITIONS,
    apply_conditions,
    close_gap,
    conditions_output,
    find_rule,
    lookup_rule,
    make_room,
    move,
    sender_condition_params,
    stored_conditions,
)
from tenantcore.sandbox.store import Row, dumps, loads
from tenantcore.sandbox.timeutil import iso, parse

MAX_RULES = 300
REASON_LIMIT = 1024
MODES = ("Audit", "AuditAndNotify", "Enforce")
FROM_SCOPES = ("InOrganization", "NotInOrganization")
SENT_TO_SCOPES = ("InOrganization", "NotInOrganization", "ExternalPartner", "ExternalNonPartner")
CONDITIONS = (*SENDER_CONDITIONS, "FromScope", "SentToScope")
ACTIONS = (
    "RejectMessageReasonText",
    "RejectMessageEnhancedStatusCode",
    "DeleteMessage",
    "StopRuleProcessing",
)
_STATUS_RE = re.compile(r"^5\.7\.(1|9\d\d)$")


def _status_code() -> Converter:
    def convert(name: str, value: Any) -> str | None:
        if value is None:
            return None
        text = str(value).strip()
        if not _STATUS_RE.match(text):
            raise errors.cannot_convert(
                name,
                value,
                "Microsoft.Exchange.Data.RejectEnhancedStatus",
                "The enhanced status code isn't valid. Valid values are 5.7.1 or 5.7.900"
                " through 5.7.999.",
            )
        return text

    return convert


def _actions(current: dict[str, Any], params: dict[str, Any]) -> dict[str, Any]:
    actions = dict(current)
    for name in ACTIONS:
        if name not in params:
            continue
        value = params[name]
        if name == "RejectMessageReasonText" and value is not None and len(value) > REASON_LIMIT:
            raise errors.too_long(name, value, REASON_LIMIT)
        if value is None or value is False:
            actions.pop(name, None)
        else:
            actions[name] = value
    return actions


def _description(conditions: dict[str, Any], actions: dict[str, Any]) -> str:
    lines = ["If the message:"]
    for name, value in sorted(conditions.items()):
        shown = ", ".join(value) if isinstance(value, list) else str(value)
        lines.append(f"\t{name} '{shown}'")
    lines.append("Take the following actions:")
    if "RejectMessageReasonText" in actions or "RejectMessageEnhancedStatusCode" in actions:
        lines.append(
            "\tReject the message and include the explanation"
            f" '{actions.get('RejectMessageReasonText', 'Delivery not authorized, message refused')}'"
            f" with the status code: '{actions.get('RejectMessageEnhancedStatusCode', '5.7.1')}'"
        )
    if actions.get("DeleteMessage"):
        lines.append("\tDelete the message without notifying anyone")
    if actions.get("StopRuleProcessing"):
        lines.append("\tStop processing more rules")
    return "\r\n".join(lines) + "\r\n"


def rule_row(ctx: CmdletContext, rule: Row) -> dict[str, Any]:
    conditions = stored_conditions(rule)
    stored_actions = loads(rule["actions"])
    actions: dict[str, Any] = stored_actions if isinstance(stored_actions, dict) else {}
    guid = uuid.UUID(rule["guid"])
    changed = parse(rule["changed_at"])
    return {
        "Name": rule["name"],
        "Identity": rule["name"],
        "Id": rule["name"],
        "Priority": int(rule["priority"]),
        "State": rule["state"],
        "Mode": rule["mode"],
        "Comments": rule["comments"],
        "Description": _description(conditions, actions),
        "RuleVersion": "15.0.5.2",
        **conditions_output(ctx, conditions, CONDITIONS),
        "RejectMessageReasonText": actions.get("RejectMessageReasonText"),
        "RejectMessageEnhancedStatusCode": actions.get("RejectMessageEnhancedStatusCode"),
        "DeleteMessage": bool(actions.get("DeleteMessage", False)),
        "StopRuleProcessing": bool(actions.get("StopRuleProcessing", False)),
        "WhenChanged": changed,
        "WhenChangedUTC": changed,
        "IsValid": True,
        "ObjectState": "Unchanged",
        "ImmutableId": guid,
        "Guid": guid,
    }


def new_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    name = validate_name(params["Name"])
    if find_rule(ctx, "transport_rule", name) is not None:
        raise errors.already_exists(name)
    count = ctx.sb.store.one(
        "SELECT COUNT(*) AS n FROM transport_rule WHERE tenant_id = ?", (ctx.tenant_id,)
    )
    if count is not None and int(count["n"]) >= MAX_RULES:
        raise errors.invalid_operation(
            f"You can't create more than {MAX_RULES} transport rules in your organization."
        )
    conditions = apply_conditions(ctx, {}, params, CONDITIONS)
    actions = _actions({}, params)
    priority = make_room(ctx, "transport_rule", params.get("Priority"))
    guid, stamp = new_guid(), iso(ctx.now)
    ctx.sb.store.execute(
        "INSERT INTO transport_rule(guid, tenant_id, name, priority, state, mode, comments,"
        " conditions, actions, created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guid,
            ctx.tenant_id,
            name,
            priority,
            "Enabled" if params.get("Enabled", True) else "Disabled",
            params.get("Mode", "Enforce"),
            params.get("Comments"),
            dumps(conditions),
            dumps(actions),
            stamp,
            stamp,
        ),
    )
    return CmdletResult(rows=[rule_row(ctx, lookup_rule(ctx, "transport_rule", guid))])


def get_rules(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        rules = [lookup_rule(ctx, "transport_rule", params["Identity"])]
    else:
        rules = ctx.sb.store.all(
            "SELECT * FROM transport_rule WHERE tenant_id = ? ORDER BY priority, name",
            (ctx.tenant_id,),
        )
    if "State" in params:
        rules = [rule for rule in rules if rule["state"] == params["State"]]
    rows = [rule_row(ctx, rule) for rule in rules]
    return limit_rows(rows, params.get("ResultSize"), "ResultSize" in params)


def set_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    rule = lookup_rule(ctx, "transport_rule", params["Identity"])
    updates: dict[str, Any] = {}
    if "Name" in params:
        name = validate_name(params["Name"])
        other = find_rule(ctx, "transport_rule", name)
        if other is not None and other["guid"] != rule["guid"]:
            raise errors.already_exists(name)
        updates["name"] = name
    if "Mode" in params:
        updates["mode"] = params["Mode"]
    if "Comments" in params:
        updates["comments"] = params["Comments"]
    updates["conditions"] = dumps(
        apply_conditions(ctx, stored_conditions(rule), params, CONDITIONS)
    )
    current_actions = loads(rule["actions"])
    updates["actions"] = dumps(
        _actions(current_actions if isinstance(current_actions, dict) else {}, params)
    )
    if "Priority" in params:
        move(ctx, "transport_rule", rule, params["Priority"])
    _update(ctx, rule, updates)
    return CmdletResult()


def _update(ctx: CmdletContext, rule: Row, updates: dict[str, Any]) -> None:
    updates = {**updates, "changed_at": iso(ctx.now)}
    assignments = ", ".join(f"{column} = ?" for column in updates)
    ctx.sb.store.execute(
        f"UPDATE transport_rule SET {assignments} WHERE guid = ?",  # noqa: S608 - fixed columns
        (*updates.values(), rule["guid"]),
    )


def _set_state(state: str) -> Any:
    def handler(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
        ctx.require_hydrated()
        rule = lookup_rule(ctx, "transport_rule", params["Identity"])
        updates = {"state": state}
        if "Mode" in params:
            updates["mode"] = params["Mode"]
        _update(ctx, rule, updates)
        return CmdletResult()

    return handler


def remove_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    rule = lookup_rule(ctx, "transport_rule", params["Identity"])
    ctx.sb.store.execute("DELETE FROM transport_rule WHERE guid = ?", (rule["guid"],))
    close_gap(ctx, "transport_rule", int(rule["priority"]))
    return CmdletResult()


_IDENTITY = Param("Identity", cv.identity(), required=True)
_MODE = Param("Mode", cv.choice(MODES, "Microsoft.Exchange.MessagingPolicies.Rules.RuleMode"))
_SETTINGS = (
    Param("Priority", cv.integer(0, MAX_RULES - 1)),
    _MODE,
    Param("Comments", cv.text(nullable=True)),
    *sender_condition_params(),
    Param(
        "FromScope", cv.choice(FROM_SCOPES, "Microsoft.Exchange.Data.FromUserScope", nullable=True)
    ),
    Param(
        "SentToScope",
        cv.choice(SENT_TO_SCOPES, "Microsoft.Exchange.Data.ToUserScope", nullable=True),
    ),
    Param("RejectMessageReasonText", cv.text(nullable=True)),
    Param("RejectMessageEnhancedStatusCode", _status_code()),
    Param("DeleteMessage", cv.boolean()),
    Param("StopRuleProcessing", cv.boolean()),
)

CMDLETS = (
    Cmdlet(
        "New-TransportRule",
        new_rule,
        (Param("Name", cv.text(), required=True), Param("Enabled", cv.boolean()), *_SETTINGS),
    ),
    Cmdlet("Set-TransportRule", set_rule, (_IDENTITY, Param("Name", cv.text()), *_SETTINGS)),
    Cmdlet(
        "Get-TransportRule",
        get_rules,
        (
            Param("Identity", cv.identity()),
            Param("State", cv.choice(("Enabled", "Disabled"), "Microsoft.Exchange.Data.RuleState")),
            Param("ResultSize", cv.result_size()),
        ),
        paged=True,
    ),
    Cmdlet("Remove-TransportRule", remove_rule, (_IDENTITY,)),
    Cmdlet("Enable-TransportRule", _set_state("Enabled"), (_IDENTITY, _MODE)),
    Cmdlet("Disable-TransportRule", _set_state("Disabled"), (_IDENTITY,)),
)
