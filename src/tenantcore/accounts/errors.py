"""Authentication failures (DESIGN.md section 2)."""

from __future__ import annotations

from tenantcore.core.errors import AppError


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
    default_message = "Too many requests with this API key; retry after the Retry-After seconds."


AUTH_ERRORS = (MissingApiKey, InvalidAuthHeader, InvalidApiKey, RateLimited)
