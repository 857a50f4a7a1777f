"""JWT-shaped access tokens (HS256 with a per-sandbox key) like the identity platform's v1 tokens.

Real tokens are RS256-signed by Microsoft; clients never verify them, they only decode claims
(`tid`, `aud`, `roles`, `exp`). The sandbox signs with its own key so its Graph and Exchange
hosts can reject forged, expired or wrongly-scoped tokens.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import secrets
import uuid
from dataclasses import dataclass
from datetime import datetime
from typing import Any

GRAPH_AUDIENCE = "https://graph.microsoft.com"
EXCHANGE_AUDIENCE = "https://outlook.office365.com"
AUDIENCE_BY_SCOPE = {
    "https://graph.microsoft.com/.default": GRAPH_AUDIENCE,
    "https://outlook.office365.com/.default": EXCHANGE_AUDIENCE,
    "https://outlook.office.com/.default": EXCHANGE_AUDIENCE,
}


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def new_signing_key() -> str:
    return secrets.token_hex(32)


@dataclass(frozen=True)
class TokenClaims:
    tenant_id: str
    audience: str
    app_id: str
    roles: tuple[str, ...]
    expires_at: int


class TokenError(Exception):
    """The bearer token is malformed, forged or expired (`reason` says which)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


def service_principal_id(tenant_id: str, app_id: str) -> str:
    """The object id of an application's service principal in a tenant (it exists once the
    application is consented there): the token's `oid`, Graph's `servicePrincipal.id`."""
    return str(uuid.uuid5(uuid.NAMESPACE_URL, f"{tenant_id}/{app_id.lower()}"))


def issue(
    key: str,
    *,
    tenant_id: str,
    audience: str,
    app_id: str,
    roles: list[str],
    now: datetime,
    lifetime_seconds: int,
) -> str:
    issued = int(now.timestamp())
    header = {"typ": "JWT", "alg": "HS256", "kid": "tenantcore-sandbox"}
    payload: dict[str, Any] = {
        "aud": audience,
        "iss": f"https://sts.windows.net/{tenant_id}/",
        "iat": issued,
        "nbf": issued,
        "exp": issued + lifetime_seconds,
        "appid": app_id,
        "appidacr": "1",
        "idtyp": "app",
        "oid": service_principal_id(tenant_id, app_id),
        "roles": roles,
        "sub": str(uuid.uuid5(uuid.NAMESPACE_URL, f"sp/{tenant_id}/{app_id}")),
        "tid": tenant_id,
        "ver": "1.0",
    }
    signing_input = _b64(json.dumps(header).encode()) + "." + _b64(json.dumps(payload).encode())
    signature = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def verify(key: str, token: str, *, now: datetime) -> TokenClaims:
    parts = token.split(".")
    if len(parts) != 3:
        raise TokenError("malformed")
    signing_input = parts[0] + "." + parts[1]
    expected = hmac.new(key.encode(), signing_input.encode(), hashlib.sha256).digest()
    try:
        signature = _unb64(parts[2])
        payload = json.loads(_unb64(parts[1]))
    except (ValueError, json.JSONDecodeError) as exc:
        raise TokenError("malformed") from exc
    if not hmac.compare_digest(signature, expected):
        raise TokenError("signature")
    if int(payload["exp"]) <= int(now.timestamp()):
        raise TokenError("expired")
    return TokenClaims(
        tenant_id=str(payload["tid"]),
        audience=str(payload["aud"]),
        app_id=str(payload["appid"]),
        roles=tuple(payload.get("roles", [])),
        expires_at=int(payload["exp"]),
    )


def bearer(authorization: str | None) -> str | None:
    if not authorization:
        return None
    scheme, _, token = authorization.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        return None
    return token.strip()
