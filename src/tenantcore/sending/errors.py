"""Sending application errors."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class InvalidAppId(AppError):
    code = "invalid_app_id"
    default_message = "app_id must be the application (client) id of an Entra app: a GUID."


class SendingAppNotFound(AppError):
    status = 404
    code = "sending_app_not_found"
    default_message = "This tenant has no sending application."


class SendingAppConflict(AppError):
    status = 409
    code = "sending_app_conflict"
    default_message = (
        "The tenant has another sending application (or one being removed); DELETE it and wait "
        "until it is gone before setting a new one."
    )
