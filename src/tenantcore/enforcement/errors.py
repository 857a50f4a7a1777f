"""Enforcement errors (seed: set/get enforcement; DESIGN.md section 2: events)."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class InvalidSendLimit(AppError):
    code = "invalid_send_limit"
    default_message = "daily_send_limit must be a whole number between 1 and 25."


class InvalidRamp(AppError):
    code = "invalid_ramp"
    default_message = "ramp.start must be below daily_send_limit."


class PolicyNotFound(AppError):
    status = 404
    code = "policy_not_found"
    default_message = "No limit policy has been set for this scope."


class InvalidEventFilter(AppError):
    code = "invalid_event_filter"
    default_message = (
        "action must be blocked or unblocked; limit 1-500; offset >= 0; since and until "
        "ISO 8601 date-times, since before until."
    )
