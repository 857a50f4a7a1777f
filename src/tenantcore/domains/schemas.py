"""Domain request and response bodies."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

DNS_STATUS_HELP = (
    "`valid`: published as Microsoft 365 needs it; `missing`: no such record; `invalid`: "
    "a record exists but is wrong (see the field's rule); `unknown`: not checked yet, or DNS "
    "could not be resolved at the last check."
)


class DomainAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domain: str = Field(description="The custom domain to register, e.g. mail.acmecorp.com.")


class DnsRecordOut(BaseModel):
    """A record to publish at the domain's DNS host."""

    type: str = Field(description="TXT, MX or CNAME.")
    name: str = Field(description="Fully qualified record name.")
    host: str = Field(
        description="The name relative to the registered domain, as registrars ask for it "
        "(`@` is the domain itself)."
    )
    value: str
    priority: int | None = Field(description="MX preference; null for other types.")
    ttl: int
    purpose: str = Field(
        description="`verification` (proves ownership; can be removed once verified), `mx`, "
        "`spf`, `autodiscover`, `dkim` (where Exchange keeps the domain's DKIM keys; listed "
        "once the domain is verified), `dmarc` (TenantCore's recommended starting policy), or "
        "`email` for any other record Microsoft lists for Email."
    )
    required: bool = Field(
        description="Whether the domain needs it to send as it should: Microsoft 365's records "
        "and the DKIM CNAMEs; false for the verification record once the domain is verified "
        "and for the DMARC recommendation."
    )


class DomainOut(BaseModel):
    id: str
    tenant_id: str = Field(description="The Microsoft tenant GUID.")
    domain_name: str
    is_default: bool = Field(description="The tenant's default domain in Microsoft 365.")
    is_verified: bool
    email_enabled: bool = Field(description="Email is among the domain's supported services.")
    spf_status: str = Field(
        description="A single `v=spf1` TXT at the domain including spf.protection.outlook.com. "
        + DNS_STATUS_HELP
    )
    dkim_status: str = Field(
        description="CNAMEs at selector1._domainkey and selector2._domainkey pointing at "
        "Microsoft's DKIM keys (exactly at the `dkim` records below once they are listed). "
        + DNS_STATUS_HELP
    )
    dkim_signing_enabled: bool = Field(
        default=False,
        description="Exchange signs the domain's mail with the domain's own DKIM keys "
        "(`d=` the domain, which DMARC alignment and bulk-sender rules ask for). TenantCore "
        "creates the keys when the domain is verified and turns signing on at the first check "
        "(`POST …/verify` again, or the background re-check) that finds both `dkim` records "
        "published (Exchange's own DNS may lag yours by "
        "minutes to hours); until then Microsoft signs with the tenant's onmicrosoft.com "
        "domain.",
    )
    dmarc_status: str = Field(
        description="A `v=DMARC1` TXT with a policy (`p=`) at _dmarc.<domain>. " + DNS_STATUS_HELP
    )
    mx_status: str = Field(
        description="The most preferred MX points at Exchange Online "
        "(<domain-with-dashes>.mail.protection.outlook.com or the host Microsoft lists). "
        + DNS_STATUS_HELP
    )
    last_checked: datetime | None = Field(description="When DNS health was last checked.")
    created_at: datetime
    dns_records: list[DnsRecordOut]


class DomainList(BaseModel):
    tenant_id: str
    domains: list[DomainOut]
    count: int = Field(description="How many domains this answer holds.")
    next_cursor: str | None = Field(
        description="With `limit`, the `cursor` of the next page; null on the last page and "
        "without `limit`."
    )


MAX_DOMAINS_PER_BATCH = 50


class DomainBatchAdd(BaseModel):
    model_config = ConfigDict(extra="forbid")

    domains: list[str] = Field(
        description=f"The custom domains to register: 1 to {MAX_DOMAINS_PER_BATCH}, each named "
        "once.",
        min_length=1,
        max_length=MAX_DOMAINS_PER_BATCH,
    )


class DomainBatchResult(BaseModel):
    name: str = Field(description="The name as sent.")
    status: Literal["created", "exists", "failed"] = Field(
        description="`created`: registered in Microsoft 365 and TenantCore (its `dns_records` "
        "are to be published); `exists`: already on this tenant, no action taken; `failed`: "
        "see `error`."
    )
    domain: DomainOut | None = Field(description="The domain; null for `failed`.")
    error: str | None = Field(
        description="For `failed`: the code the single add would answer with "
        "(`invalid_domain`, `domain_already_registered`, `microsoft_unavailable`, ...)."
    )
    message: str | None = Field(description="For `failed`: what went wrong.")
    retryable: bool | None = Field(
        description="For `failed`: whether sending the name again later may succeed."
    )


class DomainBatchResponse(BaseModel):
    tenant_id: str
    created_count: int
    exists_count: int
    failed_count: int
    results: list[DomainBatchResult] = Field(description="One per name, in the order sent.")
