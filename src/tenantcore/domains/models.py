"""Custom domains on a tenant."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ForeignKey, String, UniqueConstraint, false
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, JSONList, new_id, utcnow

# Until the first DNS health check. The checks own the other values; there is deliberately no
# CHECK constraint on them, so a new verdict needs no migration.
DNS_STATUS_UNKNOWN = "unknown"


class Domain(Base):
    __tablename__ = "domain"
    # The first also serves lookups by tenant_pk alone (leading column). The second: a domain
    # is registered on one tenant in all of TenantCore (409 `domain_already_registered`), held
    # by the database so two concurrent adds on different tenants cannot both succeed.
    __table_args__ = (
        UniqueConstraint("tenant_pk", "domain_name"),
        UniqueConstraint("domain_name"),
    )

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    tenant_pk: Mapped[str] = mapped_column(String(36), ForeignKey("tenant.id", ondelete="CASCADE"))
    # Lowercase; 253 is the longest DNS name.
    domain_name: Mapped[str] = mapped_column(String(253))
    is_default: Mapped[bool] = mapped_column(default=False)
    is_verified: Mapped[bool] = mapped_column(default=False)
    # Graph's supportedServices includes Email.
    email_enabled: Mapped[bool] = mapped_column(default=False)
    # Graph's verificationDnsRecords / serviceConfigurationRecords, as the API returns them.
    verification_records: Mapped[list[dict[str, Any]]] = mapped_column(JSONList, default=list)
    service_records: Mapped[list[dict[str, Any]]] = mapped_column(JSONList, default=list)
    spf_status: Mapped[str] = mapped_column(String(32), default=DNS_STATUS_UNKNOWN)
    dkim_status: Mapped[str] = mapped_column(String(32), default=DNS_STATUS_UNKNOWN)
    dmarc_status: Mapped[str] = mapped_column(String(32), default=DNS_STATUS_UNKNOWN)
    mx_status: Mapped[str] = mapped_column(String(32), default=DNS_STATUS_UNKNOWN)
    # Where Exchange's DKIM keys for the domain live (Get-DkimSigningConfig's Selector1CNAME /
    # Selector2CNAME; NULL until the configuration exists), and whether Exchange signs the
    # domain's mail with them (domains/dkim.py).
    dkim_selector1_target: Mapped[str | None] = mapped_column(String(253))
    dkim_selector2_target: Mapped[str | None] = mapped_column(String(253))
    dkim_signing_enabled: Mapped[bool] = mapped_column(default=False, server_default=false())
    # Indexed: the background DNS re-check scans by it.
    last_checked: Mapped[datetime | None] = mapped_column(index=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow, onupdate=utcnow)
