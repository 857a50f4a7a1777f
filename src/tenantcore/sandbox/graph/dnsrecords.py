"""The `domainDnsRecord` objects Graph lists for a domain: verification and service records.

Record ids are stable per tenant, domain and record, as Microsoft's are between calls.
"""

from __future__ import annotations

import uuid
from typing import Any

SPF_TEXT = "v=spf1 include:spf.protection.outlook.com -all"
VERIFICATION_MX_PREFERENCE = 32767


def _record(
    tenant_id: str, label: str, kind: str, supported: str | None, **fields: Any
) -> dict[str, Any]:
    odata_type = {"Txt": "Txt", "Mx": "Mx", "CName": "Cname", "Srv": "Srv"}[kind]
    key = f"{tenant_id}/{label}/{kind}/{supported}/{sorted(fields.items())}"
    return {
        "@odata.type": f"#microsoft.graph.domainDns{odata_type}Record",
        "id": str(uuid.uuid5(uuid.NAMESPACE_DNS, key)),
        "isOptional": False,
        "label": label,
        "recordType": kind,
        "supportedService": supported,
        "ttl": 3600,
        **fields,
    }


def verification_records(tenant_id: str, domain: str, code: str) -> list[dict[str, Any]]:
    """Either record proves ownership: TXT `MS=<code>` or MX `<code>.msv1.invalid`."""
    return [
        _record(tenant_id, domain, "Txt", None, text=f"MS={code}"),
        _record(
            tenant_id,
            domain,
            "Mx",
            None,
            mailExchange=f"{code}.msv1.invalid",
            preference=VERIFICATION_MX_PREFERENCE,
        ),
    ]


def mail_exchange_host(domain: str) -> str:
    return f"{domain.replace('.', '-')}.mail.protection.outlook.com"


def service_records(tenant_id: str, domain: str) -> list[dict[str, Any]]:
    """The records Exchange Online needs published for the domain (MX, SPF, autodiscover)."""
    return [
        _record(
            tenant_id,
            domain,
            "Mx",
            "Email",
            mailExchange=mail_exchange_host(domain),
            preference=0,
        ),
        _record(tenant_id, domain, "Txt", "Email", text=SPF_TEXT),
        _record(
            tenant_id,
            f"autodiscover.{domain}",
            "CName",
            "Email",
            canonicalName="autodiscover.outlook.com",
        ),
    ]
