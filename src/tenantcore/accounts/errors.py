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


AUTH_ERRORS = (MissingApiKey, InvalidAuthHeader, InvalidApiKey)
