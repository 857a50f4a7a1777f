"""The sandbox's own control API under `/_sandbox/`: tenants, DNS, faults, timings, clock, counters.

It never shares a path with Microsoft's hosts. Errors are `{"error": {"code", "message"}}`.
"""

from __future__ import annotations

import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from pydantic import ValidationError
from starlette.responses import JSONResponse, PlainTextResponse, Response
from starlette.routing import Route

from tenantcore.sandbox.conditional_access import graph_shape
from tenantcore.sandbox.control_models import (
    DOMAIN_RE,
    ClockAdvance,
    DnsZone,
    TenantCreate,
    TenantUpdate,
)
from tenantcore.sandbox.directory import (
    create_tenant,
    dns_records,
    grant_consent,
    is_dehydrated,
)
from tenantcore.sandbox.licensing import external_recipient_limit
from tenantcore.sandbox.passwords import hash_password, verify_password
from tenantcore.sandbox.runtime import FaultPlan, SandboxConfig
from tenantcore.sandbox.store import dumps, loads
from tenantcore.sandbox.timeutil import iso

if TYPE_CHECKING:
    from starlette.requests import Request

    from tenantcore.sandbox.context import Sandbox


def _error(status: int, code: str, message: str) -> JSONResponse:
    return JSONResponse({"error": {"code": code, "message": message}}, status_code=status)


async def _json_body(request: Request) -> Any:
    raw = await request.body()
    try:
        return json.loads(raw or b"{}")
    except json.JSONDecodeError:
        return None


def _validation_error(exc: ValidationError) -> JSONResponse:
    first = exc.errors()[0]
    where = ".".join(str(part) for part in first["loc"]) or "body"
    return _error(400, "invalid_request", f"{where}: {first['msg']}")


def _slug(text: str) -> str:
    slug = re.sub(r"[^a-z0-9]", "", text.lower())[:20]
    return slug or "sandbox"


def _derived_initial_domain(sb: Sandbox, display_name: str, tenant_id: str) -> str:
    """`<name><guid hex>.onmicrosoft.com`, lengthened until no other tenant has it."""
    hex_id = tenant_id.replace("-", "")
    for length in (8, 12, 16, 32):
        candidate = f"{_slug(display_name)}{hex_id[:length]}.onmicrosoft.com"
        if sb.store.one("SELECT 1 FROM tenant WHERE initial_domain = ?", (candidate,)) is None:
            return candidate
    return f"{_slug(display_name)}{hex_id}.onmicrosoft.com"


def tenant_view(sb: Sandbox, tenant_id: str) -> dict[str, Any] | None:
    tenant = sb.store.one("SELECT * FROM tenant WHERE id = ?", (tenant_id,))
    if tenant is None:
        return None
    counts = sb.store.one(
        "SELECT (SELECT COUNT(*) FROM directory_user WHERE tenant_id = :t) AS users,"
        " (SELECT COUNT(*) FROM mailbox WHERE tenant_id = :t) AS mailboxes,"
        " (SELECT COUNT(*) FROM domain WHERE tenant_id = :t) AS domains",
        {"t": tenant_id},
    )
    assert counts is not None
    apps = [
        row["client_id"]
        for row in sb.store.all("SELECT client_id FROM consent WHERE tenant_id = ?", (tenant_id,))
    ]
    return {
        "tenant_id": tenant["id"],
        "display_name": tenant["display_name"],
        "initial_domain": tenant["initial_domain"],
        "dehydrated": is_dehydrated(sb, tenant),
        "smtp_auth_disabled": bool(tenant["smtp_auth_disabled"]),
        "security_defaults_enabled": bool(tenant["security_defaults_enabled"]),
        "basic_auth_disabled": bool(tenant["basic_auth_disabled"]),
        "banned_passwords": loads(tenant["banned_passwords"]),
        "conditional_access_policies": loads(tenant["conditional_access_policies"]),
        "subscriptions": loads(tenant["subscriptions"]),
        "external_recipient_limit": external_recipient_limit(loads(tenant["subscriptions"]))[0],
        "created_at": tenant["created_at"],
        "consented_apps": apps,
        "user_count": counts["users"],
        "mailbox_count": counts["mailboxes"],
        "domain_count": counts["domains"],
    }


def routes(sb: Sandbox) -> list[Route]:
    async def create(request: Request) -> Response:
        try:
            body = TenantCreate.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _validation_error(exc)
        tenant_id = str(body.tenant_id or uuid.uuid4())
        app = sb.store.one("SELECT * FROM app WHERE client_id = ?", (body.client_id,))
        if app is not None and not verify_password(body.client_secret, app["secret_hash"]):
            return _error(
                409,
                "app_secret_mismatch",
                f"application {body.client_id} exists with a different client secret",
            )
        existing = sb.store.one("SELECT id FROM tenant WHERE id = ?", (tenant_id,))
        if existing is None:
            initial = body.initial_domain or _derived_initial_domain(
                sb, body.display_name, tenant_id
            )
            if sb.store.one("SELECT 1 FROM tenant WHERE initial_domain = ?", (initial,)):
                return _error(409, "initial_domain_taken", f"{initial} belongs to another tenant")
            create_tenant(
                sb,
                tenant_id=tenant_id,
                display_name=body.display_name,
                initial_domain=initial,
                dehydrated=body.dehydrated,
                smtp_auth_disabled=body.smtp_auth_disabled,
                security_defaults_enabled=body.security_defaults_enabled,
            )
            _update_tenant(
                sb,
                tenant_id,
                TenantUpdate(
                    banned_passwords=body.banned_passwords, subscriptions=body.subscriptions
                ),
            )
        if app is None:
            with sb.store.transaction():
                sb.store.execute(
                    "INSERT INTO app(client_id, secret_hash, display_name) VALUES (?, ?, ?)",
                    (body.client_id, hash_password(body.client_secret), "TenantCore"),
                )
        grant_consent(
            sb,
            tenant_id=tenant_id,
            client_id=body.client_id,
            roles_graph=body.graph_roles,
            roles_exchange=body.exchange_roles,
        )
        view = tenant_view(sb, tenant_id)
        return JSONResponse(view, status_code=201 if existing is None else 200)

    async def list_tenants(request: Request) -> Response:  # noqa: ARG001
        rows = sb.store.all("SELECT id FROM tenant ORDER BY created_at, id")
        return JSONResponse({"tenants": [tenant_view(sb, row["id"]) for row in rows]})

    async def get_tenant(request: Request) -> Response:
        view = tenant_view(sb, request.path_params["tenant_id"].lower())
        if view is None:
            return _error(404, "tenant_not_found", "no such sandbox tenant")
        return JSONResponse(view)

    async def patch_tenant(request: Request) -> Response:
        tenant_id = request.path_params["tenant_id"].lower()
        try:
            body = TenantUpdate.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _validation_error(exc)
        if not _update_tenant(sb, tenant_id, body):
            return _error(404, "tenant_not_found", "no such sandbox tenant")
        return JSONResponse(tenant_view(sb, tenant_id))

    async def delete_tenant(request: Request) -> Response:
        with sb.store.transaction():
            changed = sb.store.execute(
                "DELETE FROM tenant WHERE id = ?", (request.path_params["tenant_id"].lower(),)
            )
        if not changed:
            return _error(404, "tenant_not_found", "no such sandbox tenant")
        return Response(status_code=204)

    async def put_dns(request: Request) -> Response:
        domain = request.path_params["domain"].strip().lower().rstrip(".")
        if not DOMAIN_RE.match(domain):
            return _error(400, "invalid_domain", f"{domain!r} is not a domain name")
        try:
            zone = DnsZone.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _validation_error(exc)
        with sb.store.transaction():
            sb.store.execute("DELETE FROM dns_record WHERE domain = ?", (domain,))
            for record in zone.records:
                sb.store.execute(
                    "INSERT INTO dns_record(domain, type, name, value, preference, ttl)"
                    " VALUES (?, ?, ?, ?, ?, ?)",
                    (
                        domain,
                        record.type.upper(),
                        record.name.lower(),
                        record.value,
                        record.preference,
                        record.ttl,
                    ),
                )
        return JSONResponse(_zone_view(sb, domain))

    async def get_dns(request: Request) -> Response:
        domain = request.path_params["domain"].strip().lower().rstrip(".")
        return JSONResponse(_zone_view(sb, domain))

    async def delete_dns(request: Request) -> Response:
        domain = request.path_params["domain"].strip().lower().rstrip(".")
        with sb.store.transaction():
            sb.store.execute("DELETE FROM dns_record WHERE domain = ?", (domain,))
        return Response(status_code=204)

    async def put_faults(request: Request) -> Response:
        try:
            plan = FaultPlan.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _validation_error(exc)
        sb.runtime.set_faults(plan)
        return JSONResponse(plan.model_dump())

    async def get_faults(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse(sb.runtime.faults.model_dump())

    async def delete_faults(request: Request) -> Response:  # noqa: ARG001
        sb.runtime.set_faults(FaultPlan())
        return Response(status_code=204)

    async def get_config(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse(sb.config.model_dump())

    async def patch_config(request: Request) -> Response:
        body = await _json_body(request)
        if not isinstance(body, dict):
            return _error(400, "invalid_request", "body must be a JSON object")
        try:
            merged = SandboxConfig.model_validate({**sb.config.model_dump(), **body})
        except ValidationError as exc:
            return _validation_error(exc)
        sb.runtime.config = merged
        return JSONResponse(merged.model_dump())

    async def get_counters(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse(sb.runtime.snapshot())

    async def reset_counters(request: Request) -> Response:  # noqa: ARG001
        sb.runtime.reset_counters()
        return Response(status_code=204)

    async def get_clock(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse({"now": iso(sb.now()), "offset_seconds": sb.clock.offset_seconds})

    async def advance_clock(request: Request) -> Response:
        try:
            body = ClockAdvance.model_validate(await _json_body(request))
        except ValidationError as exc:
            return _validation_error(exc)
        now = sb.clock.advance(body.advance_seconds)
        return JSONResponse({"now": iso(now), "offset_seconds": sb.clock.offset_seconds})

    async def ca_certificate(request: Request) -> Response:  # noqa: ARG001
        if sb.tls_ca_pem is None:
            return _error(404, "tls_not_configured", "this sandbox serves no TLS")
        return PlainTextResponse(sb.tls_ca_pem, media_type="application/x-pem-file")

    async def health(request: Request) -> Response:  # noqa: ARG001
        return JSONResponse({"status": "ok", "now": iso(sb.now())})

    return [
        Route("/_sandbox/health", health, methods=["GET"]),
        Route("/_sandbox/tenants", create, methods=["POST"]),
        Route("/_sandbox/tenants", list_tenants, methods=["GET"]),
        Route("/_sandbox/tenants/{tenant_id}", get_tenant, methods=["GET"]),
        Route("/_sandbox/tenants/{tenant_id}", patch_tenant, methods=["PATCH"]),
        Route("/_sandbox/tenants/{tenant_id}", delete_tenant, methods=["DELETE"]),
        Route("/_sandbox/dns/{domain}", put_dns, methods=["PUT"]),
        Route("/_sandbox/dns/{domain}", get_dns, methods=["GET"]),
        Route("/_sandbox/dns/{domain}", delete_dns, methods=["DELETE"]),
        Route("/_sandbox/faults", put_faults, methods=["PUT"]),
        Route("/_sandbox/faults", get_faults, methods=["GET"]),
        Route("/_sandbox/faults", delete_faults, methods=["DELETE"]),
        Route("/_sandbox/config", get_config, methods=["GET"]),
        Route("/_sandbox/config", patch_config, methods=["PATCH", "PUT"]),
        Route("/_sandbox/counters", get_counters, methods=["GET"]),
        Route("/_sandbox/counters", reset_counters, methods=["DELETE"]),
        Route("/_sandbox/clock", get_clock, methods=["GET"]),
        Route("/_sandbox/clock", advance_clock, methods=["POST"]),
        Route("/_sandbox/tls/ca.pem", ca_certificate, methods=["GET"]),
    ]


def _update_tenant(sb: Sandbox, tenant_id: str, update: TenantUpdate) -> bool:
    """Apply what `update` sets; False when there is no such tenant."""
    columns: dict[str, object] = {}
    if update.banned_passwords is not None:
        columns["banned_passwords"] = dumps(sorted({t.lower() for t in update.banned_passwords}))
    if update.security_defaults_enabled is not None:
        columns["security_defaults_enabled"] = int(update.security_defaults_enabled)
    if update.basic_auth_disabled is not None:
        columns["basic_auth_disabled"] = int(update.basic_auth_disabled)
    if update.subscriptions is not None:
        columns["subscriptions"] = dumps(
            [subscription.model_dump(mode="json") for subscription in update.subscriptions]
        )
    if update.conditional_access_policies is not None:
        created = iso(sb.now())
        columns["conditional_access_policies"] = dumps(
            [
                graph_shape(policy.model_dump(mode="json", exclude_none=True), created)
                for policy in update.conditional_access_policies
            ]
        )
    with sb.store.transaction():
        if sb.store.one("SELECT 1 FROM tenant WHERE id = ?", (tenant_id,)) is None:
            return False
        for column, value in columns.items():
            sb.store.execute(f"UPDATE tenant SET {column} = ? WHERE id = ?", (value, tenant_id))  # noqa: S608 - fixed names
    return True


def _zone_view(sb: Sandbox, domain: str) -> dict[str, Any]:
    return {
        "domain": domain,
        "records": [
            {
                "type": row["type"],
                "name": row["name"],
                "value": row["value"],
                "preference": row["preference"],
                "ttl": row["ttl"],
            }
            for row in dns_records(sb, domain)
        ],
    }
