"""The FastAPI application: routers, error envelope, OpenAPI."""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi
from starlette.types import ASGIApp, Receive, Scope, Send

from tenantcore import __version__
from tenantcore.accounts.router import router as accounts_router
from tenantcore.audit.router import router as audit_router
from tenantcore.audit.trail import AuditTrail
from tenantcore.core.bodylimit import BodyLimit
from tenantcore.core.context import AppContext
from tenantcore.core.errors import ErrorEnvelope, install_error_handlers
from tenantcore.core.head import HeadAsGet
from tenantcore.core.idempotency import HEADER as IDEMPOTENCY_HEADER
from tenantcore.core.idempotency import Idempotency
from tenantcore.core.requestid import RequestId
from tenantcore.domains.router import router as domains_router
from tenantcore.enforcement.router import router as enforcement_router
from tenantcore.mailboxes.router import router as mailboxes_router
from tenantcore.sending.router import router as sending_router
from tenantcore.tenants.router import router as tenants_router
from tenantcore.usage.router import router as usage_router
from tenantcore.webhooks.router import router as webhooks_router

# Requests in sandbox mode follow the sandbox clock within this long of a move (the background
# worker reads it on every sweep). Reading it on every request cost more than the request.
CLOCK_MAX_AGE_SECONDS = 0.25


class FollowSandboxClock:
    """Sandbox mode: requests see the sandbox clock. Pure ASGI (Starlette's `BaseHTTPMiddleware`
    costs more per request than the whole of a small read)."""

    def __init__(self, app: ASGIApp, context: AppContext) -> None:
        self.app = app
        self.context = context

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            await self.context.refresh_clock(max_age=CLOCK_MAX_AGE_SECONDS)
        await self.app(scope, receive, send)


def create_app(context: AppContext) -> FastAPI:
    app = FastAPI(
        title="TenantCore",
        version=__version__,
        description=(
            "Sending mailboxes on your own Microsoft 365 tenants: connect a tenant, register "
            "domains, provision shared mailboxes, cap daily sends inside Exchange Online."
        ),
    )
    app.state.context = context
    install_error_handlers(app)
    _document_validation_as_400(app)

    if context.sandbox is not None:
        app.add_middleware(FollowSandboxClock, context=context)

    app.include_router(accounts_router)
    app.include_router(tenants_router)
    app.include_router(domains_router)
    app.include_router(mailboxes_router)
    app.include_router(enforcement_router)
    app.include_router(usage_router)
    app.include_router(webhooks_router)
    app.include_router(sending_router)
    app.include_router(audit_router)
    # Innermost: it sees the answers of routes and error handlers alike.
    app.add_middleware(AuditTrail, context=context)
    app.add_middleware(Idempotency, sessionmaker=context.sessionmaker)
    app.add_middleware(BodyLimit, max_bytes=context.settings.max_body_bytes)
    app.add_middleware(HeadAsGet)  # everything inside sees a GET
    app.add_middleware(RequestId)  # outermost: every response of the app carries the id
    return app


IDEMPOTENCY_PARAMETER = {
    "name": IDEMPOTENCY_HEADER,
    "in": "header",
    "required": False,
    "description": "Repeat the request with the same key to get the first answer instead of "
    "doing it twice (kept 24 hours; core/idempotency.py).",
    "schema": {"type": "string", "minLength": 1, "maxLength": 255},
}


def _document_validation_as_400(app: FastAPI) -> None:
    """FastAPI documents a 422 on every route; TenantCore answers validation errors with 400
    and its own envelope (core/errors.py), so the schema says exactly that."""

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = get_openapi(
                title=app.title,
                version=app.version,
                description=app.description,
                routes=app.routes,
            )
            envelope = {"$ref": "#/components/schemas/ErrorEnvelope"}
            for path_item in schema.get("paths", {}).values():
                for method, operation in path_item.items():
                    if method in ("post", "patch", "delete"):
                        operation.setdefault("parameters", []).append(IDEMPOTENCY_PARAMETER)
                    responses = operation.get("responses", {})
                    if responses.pop("422", None) is not None:
                        responses.setdefault(
                            "400",
                            {
                                "description": "`invalid_request`: the body or parameters are not valid.",
                                "content": {"application/json": {"schema": envelope}},
                            },
                        )
            components = schema.setdefault("components", {}).setdefault("schemas", {})
            components.pop("HTTPValidationError", None)
            components.pop("ValidationError", None)
            envelope_schema = ErrorEnvelope.model_json_schema(
                ref_template="#/components/schemas/{model}"
            )
            for name, definition in envelope_schema.pop("$defs", {}).items():
                components.setdefault(name, definition)
            components.setdefault("ErrorEnvelope", envelope_schema)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]
