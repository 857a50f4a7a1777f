"""Condition matching for transport (mail flow) rules and outbound spam filter rules.

Both rule kinds share Exchange's predicate logic (wire reference 4.4 and 4.6): the values of one
condition are OR-ed, different conditions are AND-ed, and any matching exception (`ExceptIf*`)
takes the rule off the message. Condition JSON is as `schema.py` documents for transport_rule.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import structlog

from tenantcore.sandbox.store import loads

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.store import Row

log = structlog.get_logger(__name__)

DEFAULT_REJECT_STATUS = "5.7.1"
DEFAULT_REJECT_TEXT = "Delivery not authorized, message refused"
_EXCEPT_PREFIX = "ExceptIf"


@dataclass(frozen=True)
class SenderFacts:
    """What rule predicates may ask about a sender.

    `domain` is the domain domain conditions test: the envelope sender's for transport rules,
    the primary address's for outbound spam rules (as Microsoft documents for those).
    """

    addresses: frozenset[str]
    domain: str
    groups: frozenset[str]


@dataclass(frozen=True)
class RuleAction:
    """What the first acting transport rule does to a message."""

    rule_name: str
    kind: str  # "reject" | "delete"
    reply: str


def _values(raw: Any) -> list[str]:
    if raw is None:
        return []
    if isinstance(raw, str):
        return [raw.strip().lower()]
    return [str(value).strip().lower() for value in raw]


def domain_matches(domain: str, wanted: Iterable[str]) -> bool:
    """`SenderDomainIs` semantics: the domain itself or any subdomain of it."""
    domain = domain.lower()
    return any(domain == value or domain.endswith("." + value) for value in wanted if value)


def _predicate(
    name: str, raw: Any, facts: SenderFacts, recipients_internal: list[bool]
) -> bool | None:
    """Whether one condition holds; None for a condition this emulator does not know."""
    values = _values(raw)
    if name == "from":
        return any(value in facts.addresses for value in values)
    if name == "frommemberof":
        return any(value in facts.groups for value in values)
    if name == "senderdomainis":
        return domain_matches(facts.domain, values)
    if name == "fromscope":
        # An authenticated submission always comes from inside the organization.
        return "inorganization" in values
    if name == "senttoscope":
        wanted = {value == "inorganization" for value in values}
        return any(internal in wanted for internal in recipients_internal)
    return None


def conditions_match(
    conditions: Mapping[str, Any],
    facts: SenderFacts,
    recipients_internal: list[bool],
    *,
    empty_matches: bool,
) -> bool:
    """Evaluate one rule's conditions and exceptions against a message.

    An unknown condition makes the rule not apply, and an unknown exception is ignored: either
    way the emulator never acts on a rule it does not understand.
    """
    positive = {k: v for k, v in conditions.items() if not k.startswith(_EXCEPT_PREFIX)}
    if not positive and not empty_matches:
        return False
    for name, raw in positive.items():
        held = _predicate(name.lower(), raw, facts, recipients_internal)
        if held is None:
            log.warning("unsupported rule condition; rule skipped", condition=name)
            return False
        if not held:
            return False
    for name, raw in conditions.items():
        if not name.startswith(_EXCEPT_PREFIX):
            continue
        base = name[len(_EXCEPT_PREFIX) :].lower()
        if _predicate(base, raw, facts, recipients_internal):
            return False
    return True


def _reject_reply(actions: Mapping[str, Any]) -> str | None:
    status = actions.get("RejectMessageEnhancedStatusCode")
    text = actions.get("RejectMessageReasonText")
    if not status and not text:
        return None
    return f"550 {status or DEFAULT_REJECT_STATUS} {text or DEFAULT_REJECT_TEXT}"


def apply_transport_rules(
    sb: Sandbox, tenant_id: str, facts: SenderFacts, recipients_internal: list[bool]
) -> RuleAction | None:
    """Run the tenant's enforced transport rules in priority order; the first reject or delete
    decides the message. A rule without conditions applies to every message, as in Exchange."""
    rules = sb.store.all(
        "SELECT * FROM transport_rule WHERE tenant_id = ? AND state = 'Enabled'"
        " AND mode = 'Enforce' ORDER BY priority, created_at, name",
        (tenant_id,),
    )
    for rule in rules:
        conditions = _json_object(rule["conditions"])
        if not conditions_match(conditions, facts, recipients_internal, empty_matches=True):
            continue
        actions = _json_object(rule["actions"])
        reply = _reject_reply(actions)
        if reply is not None:
            return RuleAction(rule_name=rule["name"], kind="reject", reply=reply)
        if actions.get("DeleteMessage"):
            return RuleAction(rule_name=rule["name"], kind="delete", reply="")
        if actions.get("StopRuleProcessing"):
            return None
    return None


def select_spam_policy(sb: Sandbox, tenant_id: str, facts: SenderFacts) -> Row | None:
    """The outbound spam filter policy that applies to a sender: the policy of the first
    enabled rule (by priority) whose conditions match, else the tenant's Default policy."""
    rules = sb.store.all(
        "SELECT r.conditions, p.* FROM spam_rule r JOIN spam_policy p"
        " ON p.tenant_id = r.tenant_id AND p.name = r.policy_name AND p.is_default = 0"
        " WHERE r.tenant_id = ? AND r.enabled = 1 ORDER BY r.priority, r.created_at, r.name",
        (tenant_id,),
    )
    for rule in rules:
        if conditions_match(_json_object(rule["conditions"]), facts, [], empty_matches=False):
            return rule
    return sb.store.one(
        "SELECT * FROM spam_policy WHERE tenant_id = ? AND is_default = 1", (tenant_id,)
    )


def _json_object(text: str | None) -> dict[str, Any]:
    try:
        value = loads(text)
    except json.JSONDecodeError:
        return {}
    return value if isinstance(value, dict) else {}
