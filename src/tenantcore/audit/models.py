"""Audit entries: one per authenticated POST, PATCH, PUT or DELETE the API answered."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, JSONList, new_id


class AuditEntry(Base):
    """What was asked (method, route, path, the body's field names: never their values, which
    may be passwords), by whom (account and key, kept after the key is revoked), and what the
    API answered (status code). `request_id` is the `X-Request-Id` of the answer."""

    __tablename__ = "audit_entry"
    __table_args__ = (Index("ix_audit_entry_account_created", "account_id", "created_at"),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("account.id", ondelete="CASCADE")
    )
    api_key_id: Mapped[str] = mapped_column(String(36))
    request_id: Mapped[str | None] = mapped_column(String(128))
    method: Mapped[str] = mapped_column(String(8))
    # The route's template (`/v1/tenants/{tenant_id}/mailboxes`) and the path asked for.
    route: Mapped[str] = mapped_column(String(200))
    path: Mapped[str] = mapped_column(String(2048))
    # The path's `tenant_id` as given (NULL: the route has none).
    tenant_id: Mapped[str | None] = mapped_column(String(200))
    # Top-level field names of a JSON object body, sorted.
    fields: Mapped[list[str]] = mapped_column(JSONList)
    status_code: Mapped[int]
    created_at: Mapped[datetime]
