"""Entra Conditional Access policies, as far as they decide SMTP AUTH with a password.

SMTP AUTH with Basic authentication is a legacy-authentication client ("Other clients",
`clientAppTypes` `other`), so an enabled policy that blocks (`grantControls.builtInControls`
`block`) the `other` client type for Exchange Online (`includeApplications` `All`, `Office365`
or Exchange Online's app id) refuses the login of every user it includes and does not exclude,
as Microsoft's "Block legacy authentication" template does. The sandbox stores each tenant's
policies in Graph's own shape (set through the control API, read through Graph
`/identity/conditionalAccess/policies`). Users are matched by object id or `All`; group and
role conditions are kept and listed but not evaluated (a policy that includes users only
through groups or roles applies to nobody here, and exclusions through them exclude nobody).
Report-only policies (`enabledForReportingButNotEnforced`) refuse nothing.
"""

from __future__ import annotations

import uuid
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.store import dumps, loads

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox

EXCHANGE_ONLINE_APP = "00000002-0000-0ff1-ce00-000000000000"
_EXCHANGE_APPS = frozenset({"all", "office365", EXCHANGE_ONLINE_APP})
_LEGACY_CLIENTS = frozenset({"other", "all"})
_USER_KEYS = (
    "includeUsers",
    "excludeUsers",
    "includeGroups",
    "excludeGroups",
    "includeRoles",
    "excludeRoles",
)


def graph_shape(policy: dict[str, Any], created: str) -> dict[str, Any]:
    """A policy as Graph returns it, from the control API's input (Graph's field names)."""
    conditions = policy.get("conditions") or {}
    users = conditions.get("users") or {}
    applications = conditions.get("applications") or {}
    grant = policy.get("grantControls") or {}
    return {
        "id": policy.get("id") or str(uuid.uuid4()),
        "displayName": policy["displayName"],
        "state": policy.get("state", "enabled"),
        "createdDateTime": created,
        "modifiedDateTime": None,
        "conditions": {
            "clientAppTypes": list(conditions.get("clientAppTypes") or ["all"]),
            "applications": {
                "includeApplications": list(applications.get("includeApplications") or []),
                "excludeApplications": list(applications.get("excludeApplications") or []),
                "includeUserActions": [],
            },
            "users": {key: list(users.get(key) or []) for key in _USER_KEYS},
            "platforms": None,
            "locations": None,
        },
        "grantControls": {
            "operator": grant.get("operator", "OR"),
            "builtInControls": list(grant.get("builtInControls") or []),
            "customAuthenticationFactors": [],
            "termsOfUse": [],
        },
        "sessionControls": None,
    }


def tenant_policies(sb: Sandbox, tenant_id: str) -> list[dict[str, Any]]:
    row = sb.store.one("SELECT conditional_access_policies FROM tenant WHERE id = ?", (tenant_id,))
    return list(loads(row["conditional_access_policies"])) if row is not None else []


def save_policies(sb: Sandbox, tenant_id: str, policies: list[dict[str, Any]]) -> None:
    sb.store.execute(
        "UPDATE tenant SET conditional_access_policies = ? WHERE id = ?",
        (dumps(policies), tenant_id),
    )


def _lower(values: list[str]) -> set[str]:
    return {str(value).lower() for value in values}


def blocks_legacy_auth(policy: dict[str, Any], user_id: str) -> bool:
    """Whether the policy refuses a Basic-authentication SMTP login by this user."""
    conditions = policy.get("conditions") or {}
    applications = conditions.get("applications") or {}
    users = conditions.get("users") or {}
    grant = policy.get("grantControls") or {}
    user = user_id.lower()
    return (
        policy.get("state") == "enabled"
        and "block" in _lower(grant.get("builtInControls") or [])
        and bool(_lower(conditions.get("clientAppTypes") or []) & _LEGACY_CLIENTS)
        and bool(_lower(applications.get("includeApplications") or []) & _EXCHANGE_APPS)
        and not _lower(applications.get("excludeApplications") or []) & _EXCHANGE_APPS
        and bool(_lower(users.get("includeUsers") or []) & {"all", user})
        and user not in _lower(users.get("excludeUsers") or [])
    )


def refusing_policy(sb: Sandbox, tenant_id: str, user_id: str) -> dict[str, Any] | None:
    return next((p for p in tenant_policies(sb, tenant_id) if blocks_legacy_auth(p, user_id)), None)
