"""Graph's wire conventions: requests, responses, headers and the error envelope.

Every response carries `request-id`, `client-request-id` (the caller's, else the request id),
`x-ms-ags-diagnostic` and `OData-Version: 4.0`; errors use the single top-level `error` object
of wire reference 2.7, throttling the shape of 2.8.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from datetime import datetime

    from tenantcore.sandbox.runtime import InjectedFault

SERVICE_ROOT = "https://graph.microsoft.com/v1.0"
METADATA = f"{SERVICE_ROOT}/$metadata#"
JSON_CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;"
    "IEEE754Compatible=false;charset=utf-8"
)
TEXT_CONTENT_TYPE = "text/plain;charset=utf-8"
AGS_DIAGNOSTIC = json.dumps(
    {
        "ServerInfo": {
            "DataCenter": "Sandbox",
            "Slice": "E",
            "Ring": "5",
            "ScaleUnit": "000",
            "RoleInstance": "TENANTCORE-SANDBOX",
        }
    },
    separators=(",", ":"),
)
# Headers a $batch item keeps from the response it wraps (transport headers stay outside).
BATCH_ITEM_HEADERS = (
    "Cache-Control",
    "Content-Type",
    "OData-Version",
    "Location",
    "Retry-After",
    "x-ms-throttle-scope",
    "x-ms-throttle-information",
)


@dataclass
class GraphRequest:
    """One Graph call, from HTTP or from a `$batch` item, relative to the `/v1.0` root."""

    method: str
    path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    base_url: str
    request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    client_request_id: str = ""

    def __post_init__(self) -> None:
        self.method = self.method.upper()
        self.headers = {name.lower(): value for name, value in self.headers.items()}
        if not self.client_request_id:
            self.client_request_id = self.headers.get("client-request-id") or self.request_id

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())

    def option(self, name: str) -> str | None:
        """A query option by name, case-insensitively (`$filter`, `$Filter`)."""
        wanted = name.lower()
        for key, value in self.query:
            if key.lower() == wanted:
                return value
        return None

    def json(self) -> dict[str, Any]:
        """The body as a JSON object, or Graph's 400 for an unreadable payload."""
        try:
            value = json.loads(self.body or b"null")
        except (json.JSONDecodeError, UnicodeDecodeError):
            value = None
        if not isinstance(value, dict):
            raise GraphError(
                400,
                "BadRequest",
                "Unable to read JSON request payload. Please ensure Content-Type header is set"
                " and payload is of valid JSON format.",
            )
        return value


@dataclass
class GraphResponse:
    status: int
    body: Any = None
    text: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

    @property
    def has_body(self) -> bool:
        return self.body is not None or self.text is not None


class GraphError(Exception):
    """An error answered with Graph's envelope: `{"error": {code, message, details?, innerError}}`."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        *,
        details: list[dict[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details
        self.headers = headers or {}


class Throttled(Exception):
    """A 429 answered with the throttling envelope of wire reference 2.8."""

    def __init__(self, retry_after: str, headers: dict[str, str] | None = None) -> None:
        super().__init__("throttled")
        self.retry_after = retry_after
        self.headers = headers or {}


def invalid_value(prop: str, resource: str) -> GraphError:
    message = f"Invalid value specified for property '{prop}' of resource '{resource}'."
    return GraphError(
        400,
        "Request_BadRequest",
        message,
        details=[{"code": "InvalidValue", "message": message, "target": prop}],
    )


def object_conflict(prop: str) -> GraphError:
    message = f"Another object with the same value for property {prop} already exists."
    return GraphError(
        400,
        "Request_BadRequest",
        message,
        details=[{"code": "ObjectConflict", "message": message, "target": prop}],
    )


def not_found(key: str) -> GraphError:
    return GraphError(
        404,
        "Request_ResourceNotFound",
        f"Resource '{key}' does not exist or one of its queried reference-property objects"
        " are not present.",
    )


def unknown_property(prop: str, entity: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"The property '{prop}' does not exist on type 'microsoft.graph.{entity}'. Make sure to"
        " only use property names that are defined by the type or mark the type as open type.",
    )


def wrong_type(value: Any, edm_type: str) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Cannot convert the literal '{json.dumps(value)}' to the expected type '{edm_type}'.",
    )


def _inner_date(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M:%S")


def error_response(request: GraphRequest, now: datetime, exc: GraphError) -> GraphResponse:
    error: dict[str, Any] = {"code": exc.code, "message": exc.message}
    if exc.details:
        error["details"] = exc.details
    error["innerError"] = {
        "date": _inner_date(now),
        "request-id": request.request_id,
        "client-request-id": request.client_request_id,
    }
    return GraphResponse(exc.status, {"error": error}, headers=dict(exc.headers))


def throttled_response(request: GraphRequest, now: datetime, exc: Throttled) -> GraphResponse:
    body = {
        "error": {
            "code": "TooManyRequests",
            "innerError": {
                "code": "429",
                "date": _inner_date(now),
                "message": "Please retry after",
                "request-id": request.request_id,
                "status": "429",
            },
            "message": "Please retry again later.",
        }
    }
    return GraphResponse(429, body, headers={"Retry-After": exc.retry_after, **exc.headers})


def fault_error(fault: InjectedFault) -> GraphError | Throttled:
    """The answer to an injected fault: Graph's throttling or service-error envelopes."""
    retry_after = f"{fault.retry_after_seconds:g}"
    if fault.status == 429:
        return Throttled(retry_after)
    if fault.status == 503:
        return GraphError(
            503,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Retry the request after a delay.",
            headers={"Retry-After": retry_after},
        )
    if fault.status == 504:
        return GraphError(
            504,
            "gatewayTimeout",
            "The gateway did not receive a timely response from the service. Retry the request.",
            headers={"Retry-After": retry_after},
        )
    return GraphError(fault.status, "generalException", "An unspecified error has occurred.")


def standard_headers(request: GraphRequest, response: GraphResponse) -> dict[str, str]:
    """The headers every Graph response carries, plus the response's own."""
    headers = {
        "Cache-Control": "no-cache",
        "OData-Version": "4.0",
        "request-id": request.request_id,
        "client-request-id": request.client_request_id,
        "x-ms-ags-diagnostic": AGS_DIAGNOSTIC,
    }
    if response.text is not None:
        headers["Content-Type"] = TEXT_CONTENT_TYPE
    elif response.body is not None:
        headers["Content-Type"] = JSON_CONTENT_TYPE
    headers.update(response.headers)
    return headers
