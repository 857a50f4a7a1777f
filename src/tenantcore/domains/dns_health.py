"""DNS health of a domain: are SPF, DKIM, DMARC and MX published as Microsoft 365 needs?

The same rules judge two sources: the sandbox's DNS zone (sandbox mode) and real DNS through
dnspython's asynchronous resolver (live mode). A lookup that fails (timeout, no resolver,
SERVFAIL) makes its verdict `unknown`: DNS trouble is never an error of the API.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Protocol

import dns.asyncresolver
import dns.exception
import dns.resolver
import structlog

from tenantcore.core.context import AppContext
from tenantcore.domains.names import classic_mx_host
from tenantcore.microsoft.errors import MicrosoftError
from tenantcore.settings import DnsSettings

log = structlog.get_logger(__name__)

SPF_INCLUDE = "include:spf.protection.outlook.com"
DKIM_SELECTORS = ("selector1", "selector2")
# Where Microsoft's DKIM CNAMEs point: the tenant's initial domain (classic) or the newer
# `<tenant>.<region>-v1.dkim.mail.microsoft` hosts.
DKIM_TARGET_SUFFIXES = (".onmicrosoft.com", ".dkim.mail.microsoft")


class DnsStatus(StrEnum):
    VALID = "valid"
    MISSING = "missing"
    INVALID = "invalid"
    UNKNOWN = "unknown"


@dataclass(frozen=True)
class Answer:
    value: str
    preference: int = 0


# None: the lookup failed, so nothing can be concluded. An empty list: no such record.
Answers = list[Answer] | None


class Resolver(Protocol):
    async def lookup(self, name: str, kind: str) -> Answers: ...


@dataclass(frozen=True)
class Health:
    spf_status: DnsStatus
    dkim_status: DnsStatus
    dmarc_status: DnsStatus
    mx_status: DnsStatus
    last_checked: datetime


def _clean(value: str) -> str:
    return value.strip().strip('"').strip()


def _host(value: str) -> str:
    return value.strip().lower().removesuffix(".")


def _single_policy(answers: Answers, prefix: str) -> tuple[DnsStatus, str | None]:
    """RFC 7208/7489: only TXT strings starting with the version tag count, and more than one
    is an error for receivers."""
    if answers is None:
        return DnsStatus.UNKNOWN, None
    policies = [_clean(a.value) for a in answers if _clean(a.value).lower().startswith(prefix)]
    if not policies:
        return DnsStatus.MISSING, None
    if len(policies) > 1:
        return DnsStatus.INVALID, None
    return DnsStatus.VALID, policies[0]


def spf_status(answers: Answers) -> DnsStatus:
    status, policy = _single_policy(answers, "v=spf1")
    if policy is None:
        return status
    terms = policy.lower().split()
    return (
        DnsStatus.VALID if SPF_INCLUDE in terms or f"+{SPF_INCLUDE}" in terms else DnsStatus.INVALID
    )


def dmarc_status(answers: Answers) -> DnsStatus:
    status, policy = _single_policy(answers, "v=dmarc1")
    if policy is None:
        return status
    tags = {
        key.strip().lower(): value.strip().lower()
        for key, _, value in (part.partition("=") for part in policy.split(";"))
    }
    return (
        DnsStatus.VALID if tags.get("p") in ("none", "quarantine", "reject") else DnsStatus.INVALID
    )


def mx_status(answers: Answers, expected_hosts: set[str]) -> DnsStatus:
    """Valid when the most preferred MX (lowest preference) is Exchange Online: mail goes
    there first, so a lower-preference Exchange entry behind another host does not count."""
    if answers is None:
        return DnsStatus.UNKNOWN
    if not answers:
        return DnsStatus.MISSING
    best = min(a.preference for a in answers)
    preferred = {_host(a.value) for a in answers if a.preference == best}
    return DnsStatus.VALID if preferred & expected_hosts else DnsStatus.INVALID


def dkim_status(selectors: Sequence[Answers], expected: Sequence[str] | None = None) -> DnsStatus:
    """Both selector CNAMEs are needed: Microsoft rotates keys between them. With `expected`
    (the targets Exchange named for this domain's keys), each must point exactly there;
    without, anywhere Microsoft hosts DKIM keys."""
    if any(answers is None for answers in selectors):
        return DnsStatus.UNKNOWN
    present = [answers for answers in selectors if answers]
    if not present:
        return DnsStatus.MISSING
    if len(present) < len(selectors):
        return DnsStatus.INVALID
    for index, answers in enumerate(present):
        target = _host(answers[0].value)
        if expected is not None:
            if target != _host(expected[index]):
                return DnsStatus.INVALID
        elif "._domainkey." not in target or not target.endswith(DKIM_TARGET_SUFFIXES):
            return DnsStatus.INVALID
    return DnsStatus.VALID


class SandboxZone:
    """The sandbox's published zone of one domain, read once per check (record names in the
    zone are relative to the domain, "@" being the domain itself)."""

    def __init__(self, domain: str, records: list[dict[str, object]] | None) -> None:
        self.domain = domain
        self.records = records

    async def lookup(self, name: str, kind: str) -> Answers:
        if self.records is None:
            return None
        if name == self.domain:
            relative = "@"
        elif name.endswith("." + self.domain):
            relative = name.removesuffix("." + self.domain)
        else:
            return None  # outside this zone: not ours to answer
        answers: list[Answer] = []
        for row in self.records:
            row_name = str(row.get("name") or "@").lower()
            if str(row.get("type", "")).upper() != kind or (row_name or "@") != relative:
                continue
            preference = row.get("preference")
            answers.append(
                Answer(str(row.get("value", "")), preference if isinstance(preference, int) else 0)
            )
        return answers


class LiveResolver:
    """Real DNS through dnspython, with short timeouts (a health check must not hang a
    request). `settings.nameservers` overrides the system's resolvers."""

    def __init__(self, settings: DnsSettings) -> None:
        self.settings = settings
        self._resolver: dns.asyncresolver.Resolver | None = None

    def _get(self) -> dns.asyncresolver.Resolver:
        if self._resolver is None:
            resolver = dns.asyncresolver.Resolver(configure=not self.settings.nameservers)
            if self.settings.nameservers:
                resolver.nameservers = list(self.settings.nameservers)
                resolver.port = self.settings.port
            resolver.timeout = self.settings.timeout_seconds
            resolver.lifetime = self.settings.timeout_seconds
            self._resolver = resolver
        return self._resolver

    async def lookup(self, name: str, kind: str) -> Answers:
        try:
            answer = await self._get().resolve(name, kind, raise_on_no_answer=False)
        except dns.resolver.NXDOMAIN:
            return []
        except dns.exception.DNSException as exc:
            # Timeouts, SERVFAIL from every server, no resolver configured: inconclusive.
            log.info("dns lookup failed", name=name, kind=kind, error=type(exc).__name__)
            return None
        if answer.rrset is None:
            return []
        answers: list[Answer] = []
        for rdata in answer.rrset:
            if kind == "MX":
                answers.append(Answer(rdata.exchange.to_text(), int(rdata.preference)))
            elif kind == "TXT":
                # A TXT record may be split into several strings; receivers join them.
                answers.append(Answer(b"".join(rdata.strings).decode("utf-8", "replace")))
            else:
                answers.append(Answer(rdata.target.to_text()))
        return answers


async def evaluate(
    resolver: Resolver,
    domain: str,
    expected_mx: set[str],
    now: datetime,
    expected_dkim: Sequence[str] | None = None,
) -> Health:
    """Judge one domain; the five lookups run concurrently."""
    mx, spf, dmarc, *dkim = await asyncio.gather(
        resolver.lookup(domain, "MX"),
        resolver.lookup(domain, "TXT"),
        resolver.lookup(f"_dmarc.{domain}", "TXT"),
        *(resolver.lookup(f"{s}._domainkey.{domain}", "CNAME") for s in DKIM_SELECTORS),
    )
    return Health(
        spf_status=spf_status(spf),
        dkim_status=dkim_status(dkim, expected_dkim),
        dmarc_status=dmarc_status(dmarc),
        mx_status=mx_status(mx, {classic_mx_host(domain), *expected_mx}),
        last_checked=now,
    )


async def resolver_for(context: AppContext, domain: str) -> Resolver:
    """The sandbox's zone in sandbox mode, real DNS otherwise."""
    if context.sandbox is None:
        return LiveResolver(context.settings.dns)
    try:
        records = await context.sandbox.dns_zone(domain)
    except MicrosoftError as exc:
        log.info("sandbox dns zone unreadable", domain=domain, error=str(exc))
        return SandboxZone(domain, None)
    return SandboxZone(domain, records)


async def ownership_published(
    context: AppContext, domain: str, records: set[tuple[str, str]]
) -> bool:
    """Whether one of the ownership TXT `records` (name, text) Microsoft gave for `domain`
    resolves now (False when the lookups are inconclusive)."""
    resolver = await resolver_for(context, domain)
    for name in sorted({name for name, _ in records}):
        answers = await resolver.lookup(name, "TXT")
        wanted = {text.lower() for label, text in records if label == name}
        if answers and any(_clean(a.value).lower() in wanted for a in answers):
            return True
    return False


async def check(
    context: AppContext,
    domain: str,
    expected_mx: set[str],
    expected_dkim: Sequence[str] | None = None,
) -> Health:
    """DNS health of `domain` now. `expected_mx`: the MX hosts Microsoft listed for it;
    `expected_dkim`: the two DKIM CNAME targets Exchange named, once known."""
    resolver = await resolver_for(context, domain)
    return await evaluate(
        resolver, domain, {_host(h) for h in expected_mx}, context.now(), expected_dkim
    )
