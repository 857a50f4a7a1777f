"""The DNS records a customer publishes for a domain, built from what Microsoft lists, and
their publication in the sandbox's DNS zone (the sandbox's stand-in for a registrar)."""

from __future__ import annotations

from typing import Any

from tenantcore.domains.models import Domain
from tenantcore.domains.names import relative_host
from tenantcore.domains.schemas import DnsRecordOut
from tenantcore.microsoft.models import DnsRecord

# Microsoft lists no DMARC record; a monitoring-only policy is the safe first step (it changes
# no delivery) and is what receivers increasingly require of bulk senders.
DMARC_RECOMMENDATION = "v=DMARC1; p=none"
DEFAULT_TTL = 3600


def stored(records: list[DnsRecord]) -> list[dict[str, Any]]:
    """Microsoft's records as kept in the domain row (Graph's own field names)."""
    return [r.model_dump(mode="json", by_alias=True, exclude_none=True) for r in records]


def _loaded(rows: list[dict[str, Any]]) -> list[DnsRecord]:
    return [DnsRecord.model_validate(row) for row in rows]


def _record(domain: str, name: str, kind: str, value: str, **fields: Any) -> DnsRecordOut:
    fqdn = name.lower().removesuffix(".")
    return DnsRecordOut(
        type=kind,
        name=fqdn,
        host=relative_host(fqdn, domain),
        value=value,
        priority=fields.get("priority"),
        ttl=fields.get("ttl", DEFAULT_TTL),
        purpose=fields["purpose"],
        required=fields["required"],
    )


def _service_record(domain: str, record: DnsRecord) -> DnsRecordOut | None:
    kind = record.record_type.lower()
    common = {"ttl": record.ttl, "required": not record.is_optional}
    if kind == "mx" and record.mail_exchange:
        return _record(
            domain,
            record.label,
            "MX",
            record.mail_exchange,
            priority=record.preference or 0,
            purpose="mx",
            **common,
        )
    if kind == "txt" and record.text:
        purpose = "spf" if record.text.lower().startswith("v=spf1") else "email"
        return _record(domain, record.label, "TXT", record.text, purpose=purpose, **common)
    if kind == "cname" and record.canonical_name:
        host = relative_host(record.label, domain)
        purpose = "autodiscover" if host.startswith("autodiscover") else "email"
        return _record(
            domain, record.label, "CNAME", record.canonical_name, purpose=purpose, **common
        )
    # SRV and other types belong to services TenantCore doesn't use.
    return None


def ownership_records(domain: Domain) -> set[tuple[str, str]]:
    """The ownership TXT records Microsoft gave for the domain: (name, text `MS=ms…`)."""
    return {
        (record.label.lower().removesuffix("."), record.text)
        for record in _loaded(domain.verification_records)
        if record.record_type.lower() == "txt" and record.text
    }


def publishable(domain: Domain) -> list[DnsRecordOut]:
    """Everything the customer should publish: the ownership TXT (Microsoft's alternative MX
    is left out: an MX pointing at an `.invalid` host only confuses), the Email service
    records, the two DKIM CNAMEs once Exchange has made the domain's keys, and TenantCore's
    DMARC recommendation."""
    name = domain.domain_name
    out = [
        _record(
            name,
            record.label,
            "TXT",
            record.text,
            ttl=record.ttl,
            purpose="verification",
            required=not domain.is_verified,
        )
        for record in _loaded(domain.verification_records)
        if record.record_type.lower() == "txt" and record.text
    ]
    for record in _loaded(domain.service_records):
        if record.supported_service in (None, "Email"):
            converted = _service_record(name, record)
            if converted is not None:
                out.append(converted)
    targets = (domain.dkim_selector1_target, domain.dkim_selector2_target)
    for selector, target in zip(("selector1", "selector2"), targets, strict=True):
        if target:
            out.append(
                _record(
                    name,
                    f"{selector}._domainkey.{name}",
                    "CNAME",
                    target,
                    purpose="dkim",
                    required=True,
                )
            )
    out.append(
        _record(
            name, f"_dmarc.{name}", "TXT", DMARC_RECOMMENDATION, purpose="dmarc", required=False
        )
    )
    return out


def _supersedes(wanted: DnsRecordOut, existing: dict[str, Any]) -> bool:
    """Whether publishing `wanted` replaces `existing`, as a careful admin editing the zone
    would: one MX set, one SPF and one DMARC policy per name, one CNAME per name."""
    kind = str(existing.get("type", "")).upper()
    if kind != wanted.type or str(existing.get("name", "")).lower() != wanted.host:
        return False
    value = str(existing.get("value", "")).strip().strip('"').lower()
    if wanted.type in ("MX", "CNAME"):
        return True
    if wanted.purpose == "spf":
        return value.startswith("v=spf1")
    if wanted.purpose == "dmarc":
        return value.startswith("v=dmarc1")
    return value == wanted.value.lower()


def merged_zone(existing: list[dict[str, Any]], wanted: list[DnsRecordOut]) -> list[dict[str, Any]]:
    """The sandbox zone after publishing `wanted` into it, keeping unrelated records."""
    kept = [row for row in existing if not any(_supersedes(w, row) for w in wanted)]
    for record in wanted:
        row: dict[str, Any] = {
            "type": record.type,
            "name": record.host,
            "value": record.value,
            "ttl": record.ttl,
        }
        if record.priority is not None:
            row["preference"] = record.priority
        kept.append(row)
    return kept
