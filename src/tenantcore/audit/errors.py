"""Audit log errors."""

from __future__ import annotations

from tenantcore.core.errors import AppError


class InvalidAuditFilter(AppError):
    code = "invalid_audit_filter"
    default_message = (
        "method must be POST, PATCH, PUT or DELETE; limit 1-500; offset >= 0; since and until "
        "ISO 8601 date-times, since before until."
    )
