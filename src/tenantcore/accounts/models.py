"""Accounts and API keys."""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from tenantcore.core.base import Base, check_in, new_id, utcnow

# An API key is `tc_live_` + 48 hex characters.
API_KEY_PREFIX = "tc_live_"
API_KEY_LOOKUP_CHARS = 16


class KeyScope(StrEnum):
    FULL = "full"  # everything the account may do
    READ = "read"  # GET requests only (and rotating itself)


class Account(Base):
    __tablename__ = "account"

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    name: Mapped[str] = mapped_column(String(200), unique=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ApiKey(Base):
    """A key is found by `prefix` (indexed, not secret enough to authenticate alone) and then
    checked by comparing the SHA-256 of the whole presented key with `secret_hash` in constant
    time. The key itself is never stored; a fast hash is enough because keys carry 192 random
    bits, so there is nothing to brute-force."""

    __tablename__ = "api_key"
    __table_args__ = (check_in("scope", KeyScope),)

    id: Mapped[str] = mapped_column(String(36), primary_key=True, default=new_id)
    account_id: Mapped[str] = mapped_column(
        String(36), ForeignKey("account.id", ondelete="CASCADE"), index=True
    )
    # The first 16 characters after "tc_live_".
    prefix: Mapped[str] = mapped_column(String(API_KEY_LOOKUP_CHARS), unique=True, index=True)
    # SHA-256 hex of the whole key, "tc_live_" included.
    secret_hash: Mapped[str] = mapped_column(String(64))
    # What the holder calls the key (NULL: issued without a name), and what it may do.
    name: Mapped[str | None] = mapped_column(String(100))
    scope: Mapped[str] = mapped_column(String(8), default=KeyScope.FULL, server_default="full")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
