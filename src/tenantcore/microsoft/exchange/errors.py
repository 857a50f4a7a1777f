"""Turn an Exchange admin REST error reply into a typed error (wire reference 3.6).

The top-level message is generic ("Error executing cmdlet"); the cause hides in
`innererror.internalexception`, in `details[0].message` as `ErrorId|ExceptionType|Message`
(shape A/B) or as a JSON string with `Message` and `TypeName` (shape C), or in a plain-text body.
"""

from __future__ import annotations

import json
from typing import Any

from tenantcore.microsoft.errors import (
    AlreadyExists,
    AuthenticationFailed,
    DehydratedOrganization,
    Forbidden,
    InvalidRequest,
    MicrosoftError,
    NotFound,
    Throttled,
    Transient,
)
from tenantcore.microsoft.http import parse_retry_after
from tenantcore.microsoft.reply import Reply

_GENERIC_PREFIX = "exception of type"
_CONCURRENCY_TEXT = "maximum number of concurrent requests"


def exception_cause(body: Any, header_type: str | None = None) -> tuple[str, str]:
    """(exception type, message) by the reference's precedence; empty strings if unknown."""
    if not isinstance(body, dict) or not isinstance(body.get("error"), dict):
        return header_type or "", ""
    error: dict[str, Any] = body["error"]
    inner = error.get("innererror") or error.get("innerError") or {}
    internal = inner.get("internalexception") or inner.get("internalException") or {}
    internal_message = str(internal.get("message") or "")
    internal_type = str(internal.get("type") or "")
    detail_type, detail_message = "", ""
    details = error.get("details") or []
    if details and isinstance(details[0], dict):
        raw = str(details[0].get("message") or "")
        if raw.startswith("{"):
            try:
                decoded = json.loads(raw)
                detail_type = str(decoded.get("TypeName") or "")
                detail_message = str(decoded.get("Message") or "")
            except ValueError:
                detail_message = raw
        elif raw.count("|") >= 2:
            _, detail_type, detail_message = raw.split("|", 2)
        else:
            detail_message = raw
    if internal_message and not internal_message.lower().startswith(_GENERIC_PREFIX):
        return internal_type or detail_type or header_type or "", internal_message
    if detail_message:
        return detail_type or header_type or "", detail_message
    return header_type or internal_type or "", str(error.get("message") or "")


def classify(
    status: int, exception_type: str, message: str, *, operation: str, request_id: str | None
) -> MicrosoftError:
    kind = exception_type.lower()
    text = message.lower()
    short_type = exception_type.rsplit(".", 1)[-1] or None
    kwargs: dict[str, Any] = {
        "status": status,
        "code": short_type,
        "operation": operation,
        "request_id": request_id,
    }
    detail = message or f"Exchange answered {status}"
    if "dehydrated" in kind or "enable-organizationcustomization" in text:
        return DehydratedOrganization(detail, **kwargs)
    if (
        "alreadyexists" in kind
        or "proxyaddressexists" in kind
        or "already exists" in text
        or "already being used" in text
        or "already a member" in text
        or "already enabled for customization" in text
    ):
        return AlreadyExists(detail, **kwargs)
    if "notfound" in kind or "couldn't be found" in text or "not found" in text or status == 404:
        return NotFound(detail, **kwargs)
    if "cmdletproxynotavailable" in kind:
        return Transient(detail, **kwargs)
    if status == 401:
        return AuthenticationFailed(detail, **kwargs)
    return InvalidRequest(detail, **kwargs)


def exchange_error(reply: Reply, operation: str) -> MicrosoftError:
    status = reply.status
    retry_after = parse_retry_after(reply.headers.get("Retry-After"))
    request_id = reply.request_id
    text = reply.text()
    if status == 429 or _CONCURRENCY_TEXT in text.lower():
        return Throttled(
            text.strip()[:300] or "Exchange throttled the request",
            retry_after=retry_after,
            status=status,
            operation=operation,
            request_id=request_id,
        )
    if status in (408, 500, 502, 503, 504):
        return Transient(
            text.strip()[:300] or f"Exchange answered {status}",
            retry_after=retry_after,
            status=status,
            operation=operation,
            request_id=request_id,
        )
    body = reply.json()
    if status == 403 and body is None:
        return Forbidden(
            "Exchange refused the cmdlet: the app needs Exchange.ManageAsApp and the Exchange"
            " Administrator role in this tenant (or the cmdlet does not exist)",
            status=status,
            operation=operation,
            request_id=request_id,
        )
    exception_type, message = exception_cause(body, reply.headers.get("X-ExceptionType"))
    if status == 401 and not message:
        return AuthenticationFailed(
            "Exchange rejected the access token",
            status=status,
            operation=operation,
            request_id=request_id,
        )
    if status == 403:
        return Forbidden(
            message or "forbidden", status=status, operation=operation, request_id=request_id
        )
    if body is None and text and not message:
        message = text.strip()[:300]
    return classify(status, exception_type, message, operation=operation, request_id=request_id)
