"""Authentication failures (DESIGN.md section 2)."""

from __future__ import annotations

from tenantcore.core.errors import IDEMPOTENCY_ERRORS, AppError


class MissingApiKey(AppError):
    status = 401
    code = "missing_api_key"
    default_message = "Send your API key as `Authorization: Bearer tc_live_...`."


class InvalidAuthHeader(AppError):
    status = 401
    code = "invalid_auth_header"
    default_message = "The Authorization header must be `Bearer <api key>`."


class InvalidApiKey(AppError):
    status = 401
    code = "invalid_api_key"
    default_message = "The API key is not valid or has been rotated."


class RateLimited(AppError):
    status = 429
    code = "rate_limited"
    retryable = True
    default_message = "Too many requests with this API key; retry after the Retry-After seconds."


class ReadOnlyKey(AppError):
    status = 403
    code = "read_only_key"
    default_message = (
        "This API key is read-only: it can read (GET) and rotate itself; use a full key to "
        "make changes."
    )


class ApiKeyNotFound(AppError):
    status = 404
    code = "api_key_not_found"
    default_message = "No API key with this id is in force on your account."


class LastFullKey(AppError):
    status = 409
    code = "last_full_key"
    default_message = (
        "This is the account's last full key: revoking it would leave no key that can make "
        "changes. Create another full key first, or rotate this one."
    )


AUTH_ERRORS = (MissingApiKey, InvalidAuthHeader, InvalidApiKey, RateLimited)
# Routes that change something: a read-only key is refused there, and an Idempotency-Key
# may be sent (core/idempotency.py).
WRITE_AUTH_ERRORS = (*AUTH_ERRORS, ReadOnlyKey, *IDEMPOTENCY_ERRORS)
