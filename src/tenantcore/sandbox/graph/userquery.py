"""The Graph view of a directory user and the query options over it ($select, $filter, $orderby).

Which `$filter` operators work by default and which need advanced-query parameters
(`ConsistencyLevel: eventual` + `$count=true`) follows Microsoft's table for directory objects.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.graph.common import METADATA, GraphError
from tenantcore.sandbox.graph.odata import (
    AnyOf,
    Call,
    Comparison,
    InList,
    Junction,
    Literal,
    Node,
    Not,
)
from tenantcore.sandbox.timeutil import graph_datetime, parse

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.store import Row

DEFAULT_PROPERTIES = (
    "id",
    "businessPhones",
    "displayName",
    "givenName",
    "jobTitle",
    "mail",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "surname",
    "userPrincipalName",
)
# Optional profile properties a client may set; stored in `directory_user.profile`.
PROFILE_STRINGS = (
    "givenName",
    "surname",
    "jobTitle",
    "mobilePhone",
    "officeLocation",
    "preferredLanguage",
    "usageLocation",
    "department",
    "companyName",
)
PROFILE_PROPERTIES = (*PROFILE_STRINGS, "businessPhones")
SELECTABLE = (
    *DEFAULT_PROPERTIES,
    "accountEnabled",
    "assignedLicenses",
    "companyName",
    "createdDateTime",
    "department",
    "mailNickname",
    "onPremisesSyncEnabled",
    "otherMails",
    "passwordPolicies",
    "passwordProfile",
    "proxyAddresses",
    "usageLocation",
    "userType",
)
_CANONICAL = {name.lower(): name for name in SELECTABLE}

# Operators each filterable property supports by default; `endswith` always needs advanced
# parameters, and so do `ne`, `not` and comparisons with null.
_FILTERABLE: dict[str, frozenset[str]] = {
    "id": frozenset({"eq", "in"}),
    "userPrincipalName": frozenset({"eq", "in", "startswith", "endswith"}),
    "mail": frozenset({"eq", "in", "startswith", "endswith"}),
    "displayName": frozenset({"eq", "in", "startswith"}),
    "accountEnabled": frozenset({"eq", "in"}),
    "mailNickname": frozenset({"eq", "in", "startswith"}),
    "givenName": frozenset({"eq", "in", "startswith"}),
    "surname": frozenset({"eq", "in", "startswith"}),
    "jobTitle": frozenset({"eq", "in"}),
    "usageLocation": frozenset({"eq", "in", "startswith"}),
    "userType": frozenset({"eq", "in"}),
    "proxyAddresses": frozenset({"any"}),
}
_ELEMENT_OPS = frozenset({"eq", "startswith", "endswith"})
_BOOLEAN = frozenset({"accountEnabled"})
SORTABLE = ("displayName", "userPrincipalName")

USER_COLUMNS = (
    "SELECT u.*, m.primary_smtp_address AS mailbox_address,"
    " m.email_addresses AS mailbox_addresses"
    " FROM directory_user u LEFT JOIN mailbox m ON m.user_id = u.id"
)


def canonical(name: str) -> str | None:
    return _CANONICAL.get(name.strip().lower())


def user_view(row: Row) -> dict[str, Any]:
    """Every modelled property of a user, keyed by Graph's names."""
    profile: dict[str, Any] = json.loads(row["profile"] or "{}")
    addresses: list[str] = json.loads(row["mailbox_addresses"] or "[]")
    view: dict[str, Any] = {
        "id": row["id"],
        "businessPhones": list(profile.get("businessPhones", [])),
        "displayName": row["display_name"],
        "mail": row["mailbox_address"] or row["mail"],
        "userPrincipalName": row["user_principal_name"],
        "accountEnabled": bool(row["account_enabled"]),
        "assignedLicenses": [],
        "createdDateTime": graph_datetime(parse(row["created_at"])),
        "mailNickname": row["mail_nickname"],
        "onPremisesSyncEnabled": None,
        "otherMails": [],
        "passwordPolicies": row["password_policies"],
        "passwordProfile": None,
        "proxyAddresses": addresses,
        "userType": "Member",
    }
    for name in PROFILE_STRINGS:
        view[name] = profile.get(name)
    return view


def load_users(sb: Sandbox, tenant_id: str) -> list[dict[str, Any]]:
    rows = sb.store.all(USER_COLUMNS + " WHERE u.tenant_id = ?", (tenant_id,))
    return [user_view(row) for row in rows]


def load_user(sb: Sandbox, user_id: str) -> dict[str, Any]:
    row = sb.store.one(USER_COLUMNS + " WHERE u.id = ?", (user_id,))
    assert row is not None
    return user_view(row)


def parse_select(raw: str | None) -> list[str] | None:
    """Canonical property names of `$select` in the caller's order (None: default set)."""
    if raw is None or not raw.strip():
        return None
    names: list[str] = []
    for part in raw.split(","):
        if part.strip() == "*":
            names.extend(name for name in SELECTABLE if name not in names)
            continue
        name = canonical(part)
        if name is None:
            raise GraphError(
                400,
                "BadRequest",
                f"Could not find a property named '{part.strip()}' on type 'microsoft.graph.user'.",
            )
        if name not in names:
            names.append(name)
    return names


def project(view: dict[str, Any], select: list[str] | None) -> dict[str, Any]:
    return {name: view[name] for name in (select or DEFAULT_PROPERTIES)}


def context_url(select: list[str] | None, *, entity: bool) -> str:
    shape = "users" if select is None else f"users({','.join(select)})"
    return f"{METADATA}{shape}{'/$entity' if entity else ''}"


def _unsupported(prop: str) -> GraphError:
    return GraphError(
        400,
        "Request_UnsupportedQuery",
        f"Unsupported or invalid query filter clause specified for property '{prop}' of"
        " resource 'User'.",
    )


def needs_advanced(operator: str) -> GraphError:
    return GraphError(
        400,
        "Request_UnsupportedQuery",
        f"Operator '{operator}' is not supported because the required parameters might be"
        " missing. Try adding $count=true query parameter and ConsistencyLevel:eventual header."
        " Refer to https://aka.ms/graph-docs/advanced-queries for more information",
    )


def _check_type(prop: str, value: Literal) -> None:
    if value.kind == "null":
        return
    expected = "bool" if prop in _BOOLEAN else "string"
    if value.kind != expected:
        edm = {"bool": "Edm.Boolean", "string": "Edm.String"}
        raise GraphError(
            400,
            "BadRequest",
            "A binary operator with incompatible types was detected. Found operand types"
            f" '{edm[expected]}' and '{edm.get(value.kind, 'Edm.' + value.kind.title())}'"
            " for operator kind 'Equal'.",
        )


def advanced_operators(node: Node, lambda_var: str | None = None) -> list[str]:
    """Validate a user filter; return the operators in it that need advanced queries."""
    if isinstance(node, Junction):
        return [op for operand in node.operands for op in advanced_operators(operand, lambda_var)]
    if isinstance(node, Not):
        return ["not", *advanced_operators(node.operand, lambda_var)]
    if isinstance(node, AnyOf):
        if canonical(node.prop) != "proxyAddresses":
            raise _unsupported(node.prop)
        return advanced_operators(node.body, node.var)
    operator = node.op if isinstance(node, Comparison) else "in"
    if isinstance(node, Call):
        operator = node.name
    if lambda_var is not None:
        if node.prop != lambda_var or operator not in _ELEMENT_OPS:
            raise _unsupported(node.prop)
        return ["endsWith"] if operator == "endswith" else []
    prop = canonical(node.prop)
    supported = _FILTERABLE.get(prop or "")
    if prop is None or supported is None or "any" in supported:
        raise _unsupported(node.prop)
    values = node.values if isinstance(node, InList) else (node.value,)
    for value in values:
        _check_type(prop, value)
    if operator == "ne":
        return ["ne"]
    if operator in ("gt", "ge", "lt", "le", "contains") or operator not in supported | {"ne"}:
        raise _unsupported(node.prop)
    if operator == "endswith":
        return ["endsWith"]
    if any(value.kind == "null" for value in values):
        return ["eq"]
    return []


def _text(value: Any) -> str:
    return "" if value is None else str(value).casefold()


def _compare(actual: Any, op: str, literal: Literal) -> bool:
    if literal.kind == "null":
        equal = actual is None
    elif isinstance(actual, bool) or literal.kind == "bool":
        equal = actual == literal.value
    else:
        equal = actual is not None and _text(actual) == _text(literal.value)
    return equal if op == "eq" else not equal


def _call(name: str, actual: Any, literal: Literal) -> bool:
    if actual is None or literal.value is None:
        return False
    text, wanted = _text(actual), _text(literal.value)
    return text.startswith(wanted) if name == "startswith" else text.endswith(wanted)


def matches(node: Node, view: dict[str, Any], element: Any = None) -> bool:
    """Evaluate a validated filter; string comparisons are case-insensitive, as in Entra."""
    if isinstance(node, Junction):
        results = (matches(operand, view, element) for operand in node.operands)
        return all(results) if node.op == "and" else any(results)
    if isinstance(node, Not):
        return not matches(node.operand, view, element)
    if isinstance(node, AnyOf):
        return any(matches(node.body, view, item) for item in view["proxyAddresses"])
    actual = element if element is not None else view[canonical(node.prop) or node.prop]
    if isinstance(node, Comparison):
        return _compare(actual, node.op, node.value)
    if isinstance(node, Call):
        return _call(node.name, actual, node.value)
    return any(_compare(actual, "eq", value) for value in node.values)


def parse_orderby(raw: str | None) -> tuple[str, bool] | None:
    """(property, descending) of `$orderby`, or None for the default order."""
    if raw is None or not raw.strip():
        return None
    parts = raw.split()
    prop = canonical(parts[0])
    direction = parts[1].lower() if len(parts) > 1 else "asc"
    if prop not in SORTABLE or direction not in ("asc", "desc") or len(parts) > 2:
        raise GraphError(
            400, "Request_UnsupportedQuery", "Sorting not supported for current query."
        )
    return prop, direction == "desc"
