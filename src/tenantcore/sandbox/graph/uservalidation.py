"""Entra's rules for user properties written through POST/PATCH /users (wire reference 2.1-2.4).

Each check raises the `GraphError` Microsoft answers with; passwords are only ever checked and
hashed, never kept.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.graph.common import (
    GraphError,
    invalid_value,
    object_conflict,
    unknown_property,
    wrong_type,
)
from tenantcore.sandbox.graph.userquery import (
    PROFILE_PROPERTIES,
    PROFILE_STRINGS,
    SELECTABLE,
    canonical,
)
from tenantcore.sandbox.passwords import (
    GLOBAL_BANNED_TERMS,
    PASSING_SCORE,
    banned_password_score,
    meets_complexity,
)
from tenantcore.sandbox.store import loads

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox

WRITABLE = frozenset(
    {
        "accountEnabled",
        "displayName",
        "mailNickname",
        "userPrincipalName",
        "passwordProfile",
        "passwordPolicies",
        *PROFILE_PROPERTIES,
    }
)
_PASSWORD_PROFILE_KEYS = frozenset(
    {"password", "forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"}
)
_PASSWORD_POLICIES = {
    "disablepasswordexpiration": "DisablePasswordExpiration",
    "disablestrongpassword": "DisableStrongPassword",
    "none": "None",
}
_UPN_ALIAS = re.compile(r"^[A-Za-z0-9'._!#^~-]+$")
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
_NICKNAME_FORBIDDEN = frozenset('@()\\[]";:<>, ')
COMPLEXITY_MESSAGE = (
    "The specified password does not comply with password complexity requirements."
    " Please provide a different password."
)
UPN_DOMAIN_MESSAGE = (
    "The domain portion of the userPrincipalName property is invalid. You must use one of the"
    " verified domain names in your organization."
)


def writable_fields(body: dict[str, Any]) -> dict[str, Any]:
    """The body's properties under canonical names; unknown or read-only ones are refused."""
    fields: dict[str, Any] = {}
    for key, value in body.items():
        if key.startswith("@"):
            continue
        name = key if key in WRITABLE else canonical(key)
        if name is None or (name not in WRITABLE and name not in SELECTABLE):
            raise unknown_property(key, "user")
        if name not in WRITABLE:
            raise GraphError(
                400, "Request_BadRequest", f"Property '{key}' is read-only and cannot be set."
            )
        fields[name] = value
    return fields


def required_missing(name: str) -> GraphError:
    return GraphError(
        400, "Request_BadRequest", f"Property {name} value is required but is empty or missing."
    )


def boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise wrong_type(value, "Edm.Boolean")
    return value


def string(value: Any) -> str:
    if not isinstance(value, str):
        raise wrong_type(value, "Edm.String")
    return value


def display_name(value: Any) -> str:
    if value is None:
        raise invalid_value("displayName", "User")
    text = string(value).strip()
    if not text or len(text) > 256:
        raise invalid_value("displayName", "User")
    return text


def mail_nickname(value: Any) -> str:
    text = string(value) if value is not None else ""
    if (
        not text
        or len(text) > 64
        or any(ord(char) > 127 or char in _NICKNAME_FORBIDDEN for char in text)
    ):
        raise invalid_value("mailNickname", "User")
    return text


def user_principal_name(sb: Sandbox, tenant_id: str, value: Any) -> str:
    """A well-formed UPN whose domain is a verified domain of the tenant."""
    text = string(value) if value is not None else ""
    alias, at, domain = text.rpartition("@")
    if (
        not at
        or not alias
        or len(text) > 113
        or len(alias) > 64
        or len(domain) > 48
        or not _UPN_ALIAS.match(alias)
        or alias.startswith(".")
        or alias.endswith(".")
        or not _DOMAIN.match(domain.lower())
    ):
        raise invalid_value("userPrincipalName", "User")
    verified = sb.store.one(
        "SELECT 1 FROM domain WHERE tenant_id = ? AND name = ? AND is_verified = 1",
        (tenant_id, domain),
    )
    if verified is None:
        raise GraphError(
            400,
            "Request_BadRequest",
            UPN_DOMAIN_MESSAGE,
            details=[
                {
                    "code": "InvalidValue",
                    "message": UPN_DOMAIN_MESSAGE,
                    "target": "userPrincipalName",
                }
            ],
        )
    return f"{alias}@{domain.lower()}"


def ensure_upn_free(
    sb: Sandbox, tenant_id: str, upn: str, *, user_id: str | None, mailbox_guid: str | None
) -> None:
    """ObjectConflict when another user has the UPN or another object owns it as an address."""
    clash = sb.store.one(
        "SELECT id FROM directory_user WHERE tenant_id = ? AND user_principal_name = ?",
        (tenant_id, upn),
    )
    if clash is not None and clash["id"] != user_id:
        raise object_conflict("userPrincipalName")
    owner = sb.store.one(
        "SELECT owner_guid FROM proxy_address WHERE tenant_id = ? AND address = ?",
        (tenant_id, upn),
    )
    if owner is not None and owner["owner_guid"] != mailbox_guid:
        raise object_conflict("proxyAddresses")


def password_policies(value: Any) -> str | None:
    if value is None:
        return None
    text = string(value)
    names = [part.strip() for part in text.split(",") if part.strip()]
    if not names or any(name.lower() not in _PASSWORD_POLICIES for name in names):
        raise invalid_value("passwordPolicies", "User")
    return ", ".join(dict.fromkeys(_PASSWORD_POLICIES[name.lower()] for name in names))


def password_profile(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise wrong_type(value, "microsoft.graph.passwordProfile")
    for key in value:
        if key not in _PASSWORD_PROFILE_KEYS and not key.startswith("@"):
            raise unknown_property(key, "passwordProfile")
    for key in ("forceChangePasswordNextSignIn", "forceChangePasswordNextSignInWithMfa"):
        if value.get(key) is not None:
            boolean(value[key])
    if value.get("password") is not None:
        string(value["password"])
    return value


def check_password(sb: Sandbox, tenant_id: str, password: str, policies: str | None) -> None:
    """Entra's complexity rule (`DisableStrongPassword` relaxes it to the length limits), then
    Password Protection's banned-password check, which answers with the same error."""
    if policies and "DisableStrongPassword" in policies:
        acceptable = 8 <= len(password) <= 256
    else:
        acceptable = meets_complexity(password)
    if acceptable:
        tenant = sb.store.one(
            "SELECT display_name, initial_domain, banned_passwords FROM tenant WHERE id = ?",
            (tenant_id,),
        )
        if tenant is not None:
            terms = [*GLOBAL_BANNED_TERMS, *loads(tenant["banned_passwords"])]
            names = (
                tenant["display_name"].replace(" ", ""),
                tenant["initial_domain"].split(".")[0],
            )
            acceptable = banned_password_score(password, terms, names) >= PASSING_SCORE
    if not acceptable:
        raise GraphError(400, "Request_BadRequest", COMPLEXITY_MESSAGE)


def profile_updates(fields: dict[str, Any]) -> dict[str, Any]:
    updates: dict[str, Any] = {}
    for name in PROFILE_STRINGS:
        if name in fields:
            updates[name] = None if fields[name] is None else string(fields[name])
    if "businessPhones" in fields:
        phones = fields["businessPhones"] or []
        if not isinstance(phones, list) or not all(isinstance(p, str) for p in phones):
            raise wrong_type(fields["businessPhones"], "Collection(Edm.String)")
        if len(phones) > 1:
            raise invalid_value("businessPhones", "User")
        updates["businessPhones"] = phones
    return updates
