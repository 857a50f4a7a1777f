"""TenantCore's error envelope: `{"detail": {"code": "...", "message": "..."}}`, one stable code
per failure (DESIGN.md section 2), plus `retryable` and the request's `request_id`; every code is
in docs/errors.md. Nothing expected is ever a 500."""

from __future__ import annotations

import math
from typing import Any, ClassVar

import structlog
from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.routing import compile_path
from starlette.types import Scope

from tenantcore.core.requestid import HEADER as REQUEST_ID_HEADER
from tenantcore.core.requestid import request_id_of
from tenantcore.microsoft.errors import MicrosoftError, Throttled, Transient

log = structlog.get_logger(__name__)


class AppError(Exception):
    """Base of every error the API answers with. Subclasses fix `status` and `code`."""

    status: ClassVar[int] = 400
    code: ClassVar[str] = "bad_request"
    default_message: ClassVar[str] = "The request is not valid."
    # Whether the same request, unchanged, may succeed if sent again later (docs/errors.md).
    retryable: ClassVar[bool] = False

    def __init__(self, message: str | None = None, *, headers: dict[str, str] | None = None):
        super().__init__(message or self.default_message)
        self.message = message or self.default_message
        self.headers = headers


class InvalidRequest(AppError):
    code = "invalid_request"
    default_message = "The request body or parameters are not valid."


class ServiceUnavailable(AppError):
    status = 503
    code = "microsoft_unavailable"
    retryable = True
    default_message = "Microsoft 365 did not answer in time; retry shortly."


def microsoft_unavailable(exc: MicrosoftError) -> ServiceUnavailable:
    """A Microsoft failure that outlasted the connector's retries, as a 503 worth retrying
    (with Microsoft's Retry-After when it gave one)."""
    headers = None
    if isinstance(exc, Throttled | Transient) and exc.retry_after:
        headers = {"Retry-After": str(math.ceil(exc.retry_after))}
    where = exc.operation or "the request"
    return ServiceUnavailable(
        f"Microsoft 365 did not complete {where}; retry shortly. ({exc.detail})", headers=headers
    )


class ErrorDetail(BaseModel):
    code: str = Field(description="Stable; docs/errors.md lists every code.")
    message: str = Field(description="For people; may change.")
    retryable: bool = Field(
        description="Beyond the seed: true when the same request, unchanged, may succeed "
        "if sent again later (honour Retry-After when given)."
    )
    request_id: str | None = Field(
        default=None, description="Beyond the seed: the request's X-Request-Id."
    )


class ErrorEnvelope(BaseModel):
    detail: ErrorDetail


def error_response(
    status: int,
    code: str,
    message: str,
    headers: dict[str, str] | None = None,
    *,
    scope: Scope | None = None,
    retryable: bool = False,
) -> JSONResponse:
    """The envelope; `scope` (the request's) puts its request id in it."""
    detail: dict[str, object] = {"code": code, "message": message, "retryable": retryable}
    request_id = None if scope is None else request_id_of(scope)
    if request_id is not None:
        detail["request_id"] = request_id
    return JSONResponse({"detail": detail}, status_code=status, headers=headers)


def app_error_response(error: AppError | type[AppError], scope: Scope) -> JSONResponse:
    """The envelope of a TenantCore error (an instance, or a class for its default message)."""
    if isinstance(error, AppError):
        message, headers = error.message, error.headers
    else:
        message, headers = error.default_message, None
    return error_response(
        error.status, error.code, message, headers, scope=scope, retryable=error.retryable
    )


def responses(*errors: type[AppError]) -> dict[int | str, dict[str, Any]]:
    """OpenAPI `responses=` for a route: every error it can answer, grouped by status. Any
    request can be malformed (a NUL in the URL, a bad parameter), so `invalid_request` is
    always among them."""
    by_status: dict[int, list[type[AppError]]] = {}
    unique: dict[type[AppError], None] = dict.fromkeys((*errors, InvalidRequest))
    for error in unique:
        by_status.setdefault(error.status, []).append(error)
    return {
        status: {
            "model": ErrorEnvelope,
            "description": "; ".join(f"`{e.code}`: {e.default_message}" for e in group),
        }
        for status, group in sorted(by_status.items())
    }


def _validation_message(exc: RequestValidationError) -> str:
    errors = exc.errors()
    if not errors:
        return InvalidRequest.default_message
    first = errors[0]
    where = ".".join(str(part) for part in first.get("loc", ()) if part != "body")
    message = str(first.get("msg", "invalid value"))
    return f"{where}: {message}" if where else message


def _allowed_methods(request: Request, default: str) -> str:
    """Every method the API documents at the request's path. Starlette's 405 names only the
    methods of the first route that matched the path, and each of our methods is a route of
    its own. Read from the OpenAPI document (public, and built once); `default` for paths it
    leaves out."""
    state = request.app.state
    if getattr(state, "methods_by_path", None) is None:
        state.methods_by_path = [
            (compile_path(path)[0], {method.upper() for method in operations})
            for path, operations in request.app.openapi().get("paths", {}).items()
        ]
    path = request.scope["path"]
    methods = {m for pattern, found in state.methods_by_path if pattern.match(path) for m in found}
    if "GET" in methods:
        methods.add("HEAD")  # core/head.py
    return ", ".join(sorted(methods)) if methods else default


def install_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(AppError)
    async def app_error(request: Request, exc: AppError) -> JSONResponse:
        return app_error_response(exc, request.scope)

    @app.exception_handler(RequestValidationError)
    async def validation_error(request: Request, exc: RequestValidationError) -> JSONResponse:
        return error_response(
            400, InvalidRequest.code, _validation_message(exc), scope=request.scope
        )

    @app.exception_handler(StarletteHTTPException)
    async def http_error(
        request: Request,
        exc: StarletteHTTPException,
    ) -> JSONResponse:
        # 400 here is the framework refusing a body it cannot read (not UTF-8, say): the same
        # failure as malformed JSON, so the same code.
        codes = {
            400: InvalidRequest.code,
            404: "not_found",
            405: "method_not_allowed",
            413: "payload_too_large",
        }
        code = codes.get(exc.status_code, "http_error")
        headers = getattr(exc, "headers", None)
        if exc.status_code == 405:
            headers = dict(headers or {})
            headers["Allow"] = _allowed_methods(request, headers.get("Allow", ""))
        return error_response(exc.status_code, code, str(exc.detail), headers, scope=request.scope)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> JSONResponse:
        # Runs outside every middleware (Starlette's ServerErrorMiddleware), so the request id
        # comes from the scope and goes on the response here.
        request_id = request_id_of(request.scope)
        log.error(
            "unhandled error",
            path=request.url.path,
            error=repr(exc),
            request_id=request_id,
            exc_info=exc,
        )
        headers = None if request_id is None else {REQUEST_ID_HEADER: request_id}
        # Retryable: the request may not have taken effect; an Idempotency-Key makes a repeat
        # of a write safe either way.
        return error_response(
            500,
            "internal_error",
            "An unexpected error occurred.",
            headers,
            scope=request.scope,
            retryable=True,
        )


# Idempotency-Key (core/idempotency.py).
IDEMPOTENCY_HEADER = "Idempotency-Key"


class InvalidIdempotencyKey(AppError):
    code = "invalid_idempotency_key"
    default_message = f"{IDEMPOTENCY_HEADER} must be 1-255 printable ASCII characters."


class IdempotencyKeyReused(AppError):
    code = "idempotency_key_reused"
    default_message = (
        f"This {IDEMPOTENCY_HEADER} was used for a different request (method, path, query or "
        "body) in the last 24 hours; use a new key for a new request."
    )


class IdempotencyRequestInProgress(AppError):
    status = 409
    code = "idempotency_request_in_progress"
    retryable = True
    default_message = (
        f"A request with this {IDEMPOTENCY_HEADER} is still being processed; retry shortly to "
        "get its answer."
    )


IDEMPOTENCY_ERRORS = (InvalidIdempotencyKey, IdempotencyKeyReused, IdempotencyRequestInProgress)
