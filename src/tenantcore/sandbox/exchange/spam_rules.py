"""Outbound spam filter rules: which senders a custom policy applies to (wire reference 4.4).

A rule binds exactly one non-default policy and a policy is bound by at most one rule.
Conditions are From / FromMemberOf / SenderDomainIs and their ExceptIf variants; the first
enabled rule by priority whose conditions match picks the sender's policy.
"""

from __future__ import annotations

import uuid
from typing import Any

from tenantcore.sandbox.directory import new_guid
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.recipients import validate_name
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
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
from tenantcore.sandbox.exchange.spam_policies import lookup_policy
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso, parse

MAX_PRIORITY = 9999


def rule_row(ctx: CmdletContext, rule: Row) -> dict[str, Any]:
    guid = uuid.UUID(rule["guid"])
    changed = parse(rule["changed_at"])
    return {
        "Name": rule["name"],
        "Identity": rule["name"],
        "Id": rule["name"],
        "State": "Enabled" if rule["enabled"] else "Disabled",
        "Priority": int(rule["priority"]),
        "HostedOutboundSpamFilterPolicy": rule["policy_name"],
        "Comments": rule["comments"],
        **conditions_output(ctx, stored_conditions(rule), SENDER_CONDITIONS),
        "IsValid": True,
        "ObjectState": "Unchanged",
        "WhenChanged": changed,
        "WhenChangedUTC": changed,
        "ExchangeObjectId": guid,
        "Guid": guid,
    }


def _require_condition(conditions: dict[str, Any]) -> None:
    if not any(name in conditions for name in ("From", "FromMemberOf", "SenderDomainIs")):
        raise errors.invalid_operation(
            "The rule must have at least one condition: From, FromMemberOf or SenderDomainIs."
        )


def new_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    name = validate_name(params["Name"])
    if find_rule(ctx, "spam_rule", name) is not None:
        raise errors.already_exists(name)
    policy = lookup_policy(ctx, params["HostedOutboundSpamFilterPolicy"])
    if policy["is_default"]:
        raise errors.invalid_operation("The default policy can't be bound to a rule.")
    bound = ctx.sb.store.one(
        "SELECT name FROM spam_rule WHERE tenant_id = ? AND policy_name = ?",
        (ctx.tenant_id, policy["name"]),
    )
    if bound is not None:
        raise errors.invalid_operation(
            f'The policy "{policy["name"]}" is already used by the rule "{bound["name"]}".'
            " A policy can't be bound to more than one rule."
        )
    conditions = apply_conditions(ctx, {}, params, SENDER_CONDITIONS)
    _require_condition(conditions)
    priority = make_room(ctx, "spam_rule", params.get("Priority"))
    guid, stamp = new_guid(), iso(ctx.now)
    ctx.sb.store.execute(
        "INSERT INTO spam_rule(guid, tenant_id, name, policy_name, priority, enabled, comments,"
        " conditions, created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (
            guid,
            ctx.tenant_id,
            name,
            policy["name"],
            priority,
            int(params.get("Enabled", True)),
            params.get("Comments"),
            dumps(conditions),
            stamp,
            stamp,
        ),
    )
    return CmdletResult(rows=[rule_row(ctx, lookup_rule(ctx, "spam_rule", guid))])


def get_rules(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        rules = [lookup_rule(ctx, "spam_rule", params["Identity"])]
    else:
        rules = ctx.sb.store.all(
            "SELECT * FROM spam_rule WHERE tenant_id = ? ORDER BY priority, name",
            (ctx.tenant_id,),
        )
    if "State" in params:
        wanted = params["State"] == "Enabled"
        rules = [rule for rule in rules if bool(rule["enabled"]) == wanted]
    return CmdletResult(rows=[rule_row(ctx, rule) for rule in rules])


def _update(ctx: CmdletContext, rule: Row, updates: dict[str, Any]) -> None:
    updates = {**updates, "changed_at": iso(ctx.now)}
    assignments = ", ".join(f"{column} = ?" for column in updates)
    ctx.sb.store.execute(
        f"UPDATE spam_rule SET {assignments} WHERE guid = ?",  # noqa: S608 - fixed columns
        (*updates.values(), rule["guid"]),
    )


def set_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    rule = lookup_rule(ctx, "spam_rule", params["Identity"])
    conditions = apply_conditions(ctx, stored_conditions(rule), params, SENDER_CONDITIONS)
    _require_condition(conditions)
    updates: dict[str, Any] = {"conditions": dumps(conditions)}
    if "Comments" in params:
        updates["comments"] = params["Comments"]
    if "Priority" in params:
        move(ctx, "spam_rule", rule, params["Priority"])
    _update(ctx, rule, updates)
    return CmdletResult()


def _set_state(enabled: bool) -> Any:
    def handler(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
        ctx.require_hydrated()
        rule = lookup_rule(ctx, "spam_rule", params["Identity"])
        _update(ctx, rule, {"enabled": int(enabled)})
        return CmdletResult()

    return handler


def remove_rule(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    ctx.require_hydrated()
    rule = lookup_rule(ctx, "spam_rule", params["Identity"])
    ctx.sb.store.execute("DELETE FROM spam_rule WHERE guid = ?", (rule["guid"],))
    close_gap(ctx, "spam_rule", int(rule["priority"]))
    return CmdletResult()


_IDENTITY = Param("Identity", cv.identity(), required=True)
_SETTINGS = (
    Param("Priority", cv.integer(0, MAX_PRIORITY)),
    Param("Comments", cv.text(nullable=True)),
    *sender_condition_params(),
)

CMDLETS = (
    Cmdlet(
        "New-HostedOutboundSpamFilterRule",
        new_rule,
        (
            Param("Name", cv.text(), required=True),
            Param("HostedOutboundSpamFilterPolicy", cv.identity(), required=True),
            Param("Enabled", cv.boolean()),
            *_SETTINGS,
        ),
    ),
    Cmdlet(
        "Get-HostedOutboundSpamFilterRule",
        get_rules,
        (
            Param("Identity", cv.identity()),
            Param("State", cv.choice(("Enabled", "Disabled"), "Microsoft.Exchange.Data.RuleState")),
        ),
        paged=True,
    ),
    Cmdlet("Set-HostedOutboundSpamFilterRule", set_rule, (_IDENTITY, *_SETTINGS)),
    Cmdlet("Remove-HostedOutboundSpamFilterRule", remove_rule, (_IDENTITY,)),
    Cmdlet("Enable-HostedOutboundSpamFilterRule", _set_state(True), (_IDENTITY,)),
    Cmdlet("Disable-HostedOutboundSpamFilterRule", _set_state(False), (_IDENTITY,)),
)
