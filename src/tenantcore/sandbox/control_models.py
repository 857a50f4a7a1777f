"""The control API's request bodies (`/_sandbox/…`): what a test or demo sets up in the
sandbox, validated before anything is stored."""

from __future__ import annotations

import re
import uuid
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, field_validator

from tenantcore.sandbox.directory import DEFAULT_EXCHANGE_ROLES, DEFAULT_GRAPH_ROLES
from tenantcore.sandbox.passwords import CUSTOM_TERM_LENGTH, CUSTOM_TERMS_MAX

ClientAppType = Literal[
    "all", "browser", "mobileAppsAndDesktopClients", "exchangeActiveSync", "other"
]


def _all_client_apps() -> list[ClientAppType]:
    return ["all"]


DOMAIN_RE = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")


BannedTerm = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=CUSTOM_TERM_LENGTH[0], max_length=CUSTOM_TERM_LENGTH[1]
    ),
]
# Password Protection's custom banned password list (the global list always applies).
BannedPasswords = Annotated[list[BannedTerm], Field(max_length=CUSTOM_TERMS_MAX)]


class _GraphShaped(BaseModel):
    model_config = ConfigDict(extra="forbid")


class PolicyUsers(_GraphShaped):
    includeUsers: list[str] = Field(default_factory=list)  # noqa: N815 - Graph's names
    excludeUsers: list[str] = Field(default_factory=list)  # noqa: N815
    includeGroups: list[str] = Field(default_factory=list)  # noqa: N815
    excludeGroups: list[str] = Field(default_factory=list)  # noqa: N815
    includeRoles: list[str] = Field(default_factory=list)  # noqa: N815
    excludeRoles: list[str] = Field(default_factory=list)  # noqa: N815


class PolicyApplications(_GraphShaped):
    includeApplications: list[str] = Field(default_factory=list)  # noqa: N815
    excludeApplications: list[str] = Field(default_factory=list)  # noqa: N815


class PolicyConditions(_GraphShaped):
    clientAppTypes: list[ClientAppType] = Field(default_factory=_all_client_apps)  # noqa: N815
    applications: PolicyApplications = Field(default_factory=PolicyApplications)
    users: PolicyUsers = Field(default_factory=PolicyUsers)


class PolicyGrant(_GraphShaped):
    operator: Literal["AND", "OR"] = "OR"
    builtInControls: list[str] = Field(default_factory=list)  # noqa: N815


class ConditionalAccessPolicyIn(_GraphShaped):
    """A Conditional Access policy in Graph's shape (the fields that decide sign-ins)."""

    id: uuid.UUID | None = None
    displayName: str = Field(min_length=1, max_length=256)  # noqa: N815
    state: Literal["enabled", "disabled", "enabledForReportingButNotEnforced"] = "enabled"
    conditions: PolicyConditions = Field(default_factory=PolicyConditions)
    grantControls: PolicyGrant = Field(default_factory=PolicyGrant)  # noqa: N815


class SubscriptionIn(_GraphShaped):
    """A commercial subscription (Graph's `companySubscription`, simplified): its Exchange
    licenses set the tenant's external recipient rate limit (licensing.py)."""

    skuPartNumber: str = Field(min_length=1, max_length=100)  # noqa: N815 - Graph's names
    skuId: uuid.UUID | None = None  # noqa: N815
    isTrial: bool = False  # noqa: N815
    status: Literal["Enabled", "Warning", "Suspended", "LockedOut", "Deleted"] = "Enabled"
    totalLicenses: int = Field(ge=0, le=10_000_000)  # noqa: N815
    # Service plan names, e.g. EXCHANGE_S_STANDARD (an Exchange license) or
    # EXCHANGE_S_FOUNDATION (not one).
    servicePlans: list[Annotated[str, StringConstraints(min_length=1, max_length=100)]] = Field(  # noqa: N815
        default_factory=list, max_length=100
    )


Subscriptions = Annotated[list[SubscriptionIn], Field(max_length=100)]


class TenantUpdate(BaseModel):
    """What `PATCH /_sandbox/tenants/{id}` changes: what a tenant's admin sets in Entra."""

    model_config = ConfigDict(extra="forbid")

    banned_passwords: BannedPasswords | None = None
    security_defaults_enabled: bool | None = None
    # Basic authentication for SMTP AUTH off for the tenant (SMTP LOGIN/PLAIN: 550 5.7.30).
    basic_auth_disabled: bool | None = None
    # Replaces the tenant's Conditional Access policies.
    conditional_access_policies: list[ConditionalAccessPolicyIn] | None = Field(
        default=None, max_length=195
    )
    # Replaces the tenant's subscriptions.
    subscriptions: Subscriptions | None = None


class TenantCreate(BaseModel):
    model_config = ConfigDict(extra="forbid")

    tenant_id: uuid.UUID | None = None
    display_name: str = Field(default="Sandbox tenant", min_length=1, max_length=256)
    initial_domain: str | None = None
    dehydrated: bool = True
    smtp_auth_disabled: bool = True
    # Entra security defaults, which refuse SMTP AUTH with a password (off, as in tenants that
    # send this way; a new real tenant has them on).
    security_defaults_enabled: bool = False
    banned_passwords: BannedPasswords = Field(default_factory=list)
    # Default (None): one Exchange Online (Plan 1) license (licensing.DEFAULT_SUBSCRIPTIONS).
    subscriptions: Subscriptions | None = None
    client_id: str = Field(min_length=1, max_length=200)
    client_secret: str = Field(min_length=1, max_length=500)
    graph_roles: list[str] = Field(default_factory=lambda: list(DEFAULT_GRAPH_ROLES))
    exchange_roles: list[str] = Field(default_factory=lambda: list(DEFAULT_EXCHANGE_ROLES))

    @field_validator("initial_domain")
    @classmethod
    def _onmicrosoft(cls, value: str | None) -> str | None:
        if value is None:
            return None
        value = value.strip().lower()
        if not value.endswith(".onmicrosoft.com") or not DOMAIN_RE.match(value):
            raise ValueError("initial_domain must be a valid <name>.onmicrosoft.com domain")
        return value


class DnsRecord(BaseModel):
    model_config = ConfigDict(extra="forbid")

    type: str = Field(pattern=r"^(?i:TXT|MX|CNAME|A|AAAA|SRV)$")
    name: str = Field(default="@", min_length=1, max_length=253)
    value: str = Field(min_length=1, max_length=4096)
    preference: int | None = Field(default=None, ge=0, le=65535)
    ttl: int = Field(default=3600, ge=1)


class DnsZone(BaseModel):
    model_config = ConfigDict(extra="forbid")

    records: list[DnsRecord]


class ClockAdvance(BaseModel):
    model_config = ConfigDict(extra="forbid")

    advance_seconds: float = Field(ge=0, le=10 * 365 * 86400)
