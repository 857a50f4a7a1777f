"""login.microsoftonline.com: OIDC discovery, instance discovery and the client-credentials grant.

Errors follow the identity platform's AADSTS shape (wire reference 1.1 and 9.1).
"""

from __future__ import annotations

import base64
import json
import uuid
from typing import TYPE_CHECKING
from urllib.parse import parse_qs, unquote

from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from tenantcore.sandbox.directory import resolve_tenant
from tenantcore.sandbox.passwords import verify_password
from tenantcore.sandbox.tokens import AUDIENCE_BY_SCOPE, issue

if TYPE_CHECKING:
    from starlette.requests import Request

    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.runtime import InjectedFault


def _base_url(request: Request) -> str:
    return f"{request.url.scheme}://{request.url.netloc}"


def aadsts_error(sb: Sandbox, status: int, error: str, code: int, description: str) -> JSONResponse:
    trace_id = str(uuid.uuid4())
    correlation_id = str(uuid.uuid4())
    timestamp = sb.now().strftime("%Y-%m-%d %H:%M:%SZ")
    return JSONResponse(
        {
            "error": error,
            "error_description": (
                f"AADSTS{code}: {description}\r\nTrace ID: {trace_id}\r\n"
                f"Correlation ID: {correlation_id}\r\nTimestamp: {timestamp}"
            ),
            "error_codes": [code],
            "timestamp": timestamp,
            "trace_id": trace_id,
            "correlation_id": correlation_id,
            "error_uri": "https://login.microsoftonline.com/error?code=" + str(code),
        },
        status_code=status,
    )


def _tenant_not_found(sb: Sandbox, ref: str) -> JSONResponse:
    return aadsts_error(
        sb,
        400,
        "invalid_request",
        90002,
        f"Tenant '{ref}' not found. Check to make sure you have the correct tenant ID and are"
        " signing into the correct cloud. Check with your subscription administrator, this may"
        " happen if there are no active subscriptions for the tenant.",
    )


def routes(sb: Sandbox) -> list[Route]:
    async def openid_configuration(request: Request) -> Response:
        ref = request.path_params["tenant"]
        fault = await sb.runtime.before_call("login", "openid-configuration")
        if fault is not None:
            return _fault_response(sb, fault)
        tenant = resolve_tenant(sb, ref)
        if tenant is None:
            return _tenant_not_found(sb, ref)
        base = _base_url(request)
        tid = tenant["id"]
        return JSONResponse(
            {
                "token_endpoint": f"{base}/{tid}/oauth2/v2.0/token",
                "token_endpoint_auth_methods_supported": [
                    "client_secret_post",
                    "private_key_jwt",
                    "client_secret_basic",
                ],
                "jwks_uri": f"{base}/{tid}/discovery/v2.0/keys",
                "response_modes_supported": ["query", "fragment", "form_post"],
                "subject_types_supported": ["pairwise"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "response_types_supported": ["code", "id_token", "code id_token", "id_token token"],
                "scopes_supported": ["openid", "profile", "email", "offline_access"],
                "issuer": f"{base}/{tid}/v2.0",
                "request_uri_parameter_supported": False,
                "userinfo_endpoint": "https://graph.microsoft.com/oidc/userinfo",
                "authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/authorize",
                "device_authorization_endpoint": f"{base}/{tid}/oauth2/v2.0/devicecode",
                "http_logout_supported": True,
                "frontchannel_logout_supported": True,
                "end_session_endpoint": f"{base}/{tid}/oauth2/v2.0/logout",
                "claims_supported": ["sub", "iss", "aud", "exp", "iat", "tid", "roles"],
                "tenant_region_scope": "NA",
                "cloud_instance_name": "microsoftonline.com",
            }
        )

    async def instance_discovery(request: Request) -> Response:
        host = request.url.netloc
        base = _base_url(request)
        authorization_endpoint = request.query_params.get("authorization_endpoint", "")
        tenant = "common"
        parts = authorization_endpoint.split("/")
        if len(parts) > 3 and parts[3]:
            tenant = parts[3]
        return JSONResponse(
            {
                "tenant_discovery_endpoint": (
                    f"{base}/{tenant}/v2.0/.well-known/openid-configuration"
                ),
                "api-version": "1.1",
                "metadata": [
                    {"preferred_network": host, "preferred_cache": host, "aliases": [host]}
                ],
            }
        )

    async def token(request: Request) -> Response:
        ref = request.path_params["tenant"]
        fault = await sb.runtime.before_call("login", "token")
        if fault is not None:
            return _fault_response(sb, fault)
        form = {k: v[0] for k, v in parse_qs((await request.body()).decode()).items()}
        client_id = form.get("client_id")
        client_secret = form.get("client_secret")
        basic = request.headers.get("authorization", "")
        if basic.lower().startswith("basic "):
            try:
                decoded = base64.b64decode(basic[6:]).decode()
            except ValueError:
                decoded = ":"
            user, _, password = decoded.partition(":")
            client_id = client_id or unquote(user)
            client_secret = client_secret or unquote(password)
        grant_type = form.get("grant_type")
        if grant_type != "client_credentials":
            return aadsts_error(
                sb,
                400,
                "unsupported_grant_type",
                70003,
                f"The app requested an unsupported grant type '{grant_type or ''}'.",
            )
        tenant = resolve_tenant(sb, ref)
        if tenant is None:
            return _tenant_not_found(sb, ref)
        if not client_id:
            return aadsts_error(
                sb,
                400,
                "invalid_request",
                900144,
                "The request body must contain the following parameter: 'client_id'.",
            )
        consent = sb.store.one(
            "SELECT c.*, a.secret_hash FROM consent c JOIN app a ON a.client_id = c.client_id"
            " WHERE c.tenant_id = ? AND c.client_id = ?",
            (tenant["id"], client_id),
        )
        if consent is None:
            return aadsts_error(
                sb,
                400,
                "unauthorized_client",
                700016,
                f"Application with identifier '{client_id}' was not found in the directory"
                f" '{tenant['display_name']}'. This can happen if the application has not been"
                " installed by the administrator of the tenant or consented to by any user in"
                " the tenant. You may have sent your authentication request to the wrong tenant.",
            )
        if not client_secret:
            return aadsts_error(
                sb,
                401,
                "invalid_client",
                7000218,
                "The request body must contain the following parameter: 'client_assertion' or"
                " 'client_secret'.",
            )
        if not verify_password(client_secret, consent["secret_hash"]):
            return aadsts_error(
                sb,
                401,
                "invalid_client",
                7000215,
                "Invalid client secret provided. Ensure the secret being sent in the request is"
                " the client secret value, not the client secret ID, for a secret added to app"
                f" '{client_id}'.",
            )
        scopes = (form.get("scope") or "").split()
        resources = {AUDIENCE_BY_SCOPE.get(scope.lower()) for scope in scopes}
        unknown = [scope for scope in scopes if scope.lower() not in AUDIENCE_BY_SCOPE]
        if not scopes or unknown:
            bad = unknown[0] if unknown else ""
            return aadsts_error(
                sb,
                400,
                "invalid_scope",
                70011,
                "The provided value for the input parameter 'scope' is not valid."
                f" The scope {bad} is not valid.",
            )
        if len(resources) > 1:
            return aadsts_error(
                sb,
                400,
                "invalid_scope",
                28000,
                "Provided value for the input parameter scope is not valid because it contains"
                " more than one resource.",
            )
        audience = resources.pop()
        assert audience is not None
        roles_column = "roles_graph" if "graph" in audience else "roles_exchange"
        lifetime = sb.config.token_lifetime_seconds
        access_token = issue(
            sb.signing_key,
            tenant_id=tenant["id"],
            audience=audience,
            app_id=client_id,
            roles=json.loads(consent[roles_column]),
            now=sb.now(),
            lifetime_seconds=lifetime,
        )
        return JSONResponse(
            {
                "token_type": "Bearer",
                "expires_in": lifetime,
                "ext_expires_in": lifetime,
                "access_token": access_token,
            },
            headers={"Cache-Control": "no-store, no-cache", "Pragma": "no-cache"},
        )

    return [
        Route("/common/discovery/instance", instance_discovery, methods=["GET"]),
        Route(
            "/{tenant}/v2.0/.well-known/openid-configuration",
            openid_configuration,
            methods=["GET"],
        ),
        Route("/{tenant}/oauth2/v2.0/token", token, methods=["POST"]),
    ]


def _fault_response(sb: Sandbox, fault: InjectedFault) -> JSONResponse:
    if fault.status == 429:
        response = aadsts_error(
            sb,
            429,
            "temporarily_unavailable",
            50196,
            "The server terminated an operation because it encountered a client request loop.",
        )
        response.headers["Retry-After"] = f"{fault.retry_after_seconds:g}"
        return response
    return aadsts_error(
        sb,
        fault.status,
        "temporarily_unavailable",
        90033,
        "A transient error has occurred. Please try again.",
    )
