"""DNS health rules, and the live resolver against a real DNS server on loopback (a small UDP
authoritative server answering from a dict): the code path live mode takes, without the
internet. Also: a tenant still waiting for admin consent cannot register domains."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime
from typing import cast

import dns.message
import dns.rcode
import dns.rdatatype
import dns.rrset
import pytest

from tenantcore.accounts import repository as accounts
from tenantcore.core.db import unit_of_work
from tenantcore.domains.dns_health import (
    Answer,
    DnsStatus,
    LiveResolver,
    dkim_status,
    dmarc_status,
    evaluate,
    mx_status,
    spf_status,
)
from tenantcore.settings import DnsSettings
from tenantcore.tenants.models import Tenant, TenantStatus
from tests.api.conftest import Api

VALID, MISSING, INVALID, UNKNOWN = (
    DnsStatus.VALID,
    DnsStatus.MISSING,
    DnsStatus.INVALID,
    DnsStatus.UNKNOWN,
)
DOMAIN = "mail.acmecorp.com"
EXCHANGE = "mail-acmecorp-com.mail.protection.outlook.com"


def txt(*values: str) -> list[Answer]:
    return [Answer(v) for v in values]


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (None, UNKNOWN),
        ([], MISSING),
        (txt("google-site-verification=abc", "MS=ms123"), MISSING),
        (txt("v=spf1 include:spf.protection.outlook.com -all"), VALID),
        (txt('"V=SPF1 ip4:192.0.2.1 include:spf.protection.outlook.com ~all"'), VALID),
        (txt("v=spf1 include:_spf.google.com ~all"), INVALID),
        (txt("v=spf1 include:spf.protection.outlook.com.evil.io -all"), INVALID),
        (txt("v=spf1 include:spf.protection.outlook.com -all", "v=spf1 -all"), INVALID),
    ],
)
def test_spf(answers: list[Answer] | None, expected: DnsStatus) -> None:
    assert spf_status(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (None, UNKNOWN),
        ([], MISSING),
        (txt("some other text"), MISSING),
        (txt("v=DMARC1; p=none"), VALID),
        (txt("v=DMARC1;p=reject;rua=mailto:d@acmecorp.com"), VALID),
        (txt("v=DMARC1; rua=mailto:d@acmecorp.com"), INVALID),
        (txt("v=DMARC1; p=sometimes"), INVALID),
        (txt("v=DMARC1; p=none", "v=DMARC1; p=reject"), INVALID),
    ],
)
def test_dmarc(answers: list[Answer] | None, expected: DnsStatus) -> None:
    assert dmarc_status(answers) == expected


@pytest.mark.parametrize(
    ("answers", "expected"),
    [
        (None, UNKNOWN),
        ([], MISSING),
        ([Answer(EXCHANGE + ".", 0)], VALID),
        ([Answer(EXCHANGE.upper(), 10), Answer("ms123.msv1.invalid", 32767)], VALID),
        ([Answer("mx.listed-by-microsoft.example", 0)], VALID),
        ([Answer("mx1.other-provider.com", 0), Answer(EXCHANGE, 10)], INVALID),
        ([Answer("mx1.other-provider.com", 0)], INVALID),
    ],
)
def test_mx(answers: list[Answer] | None, expected: DnsStatus) -> None:
    expected_hosts = {EXCHANGE, "mx.listed-by-microsoft.example"}
    assert mx_status(answers, expected_hosts) == expected


SELECTOR1 = [Answer("selector1-mail-acmecorp-com._domainkey.acme.onmicrosoft.com.")]
SELECTOR2 = [Answer("selector2-mail-acmecorp-com._domainkey.acme.r-v1.dkim.mail.microsoft")]


@pytest.mark.parametrize(
    ("selectors", "expected"),
    [
        ([SELECTOR1, SELECTOR2], VALID),
        ([[], []], MISSING),
        ([SELECTOR1, []], INVALID),
        ([SELECTOR1, [Answer("dkim.other-provider.com")]], INVALID),
        ([SELECTOR1, None], UNKNOWN),
    ],
)
def test_dkim(selectors: list[list[Answer] | None], expected: DnsStatus) -> None:
    assert dkim_status(selectors) == expected


class _Authority(asyncio.DatagramProtocol):
    """Answers from `records` ({(name, type): [rdata text]}); names it doesn't know are
    NXDOMAIN; `servfail` names answer SERVFAIL."""

    def __init__(self, records: dict[tuple[str, str], list[str]], servfail: set[str]) -> None:
        self.records = records
        self.servfail = servfail
        self.transport: asyncio.DatagramTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.DatagramTransport, transport)

    def datagram_received(self, data: bytes, addr: tuple[str, int]) -> None:
        query = dns.message.from_wire(data)
        response = dns.message.make_response(query)
        question = query.question[0]
        name = question.name.to_text(omit_final_dot=True).lower()
        kind = dns.rdatatype.to_text(question.rdtype)
        if name in self.servfail:
            response.set_rcode(dns.rcode.SERVFAIL)
        elif name not in {known for known, _ in self.records}:
            response.set_rcode(dns.rcode.NXDOMAIN)
        elif self.records.get((name, kind)):
            response.answer.append(
                dns.rrset.from_text(question.name, 300, "IN", kind, *self.records[(name, kind)])
            )
        assert self.transport is not None
        self.transport.sendto(response.to_wire(), addr)


@pytest.fixture
async def authority() -> AsyncIterator[tuple[int, dict[tuple[str, str], list[str]], set[str]]]:
    records: dict[tuple[str, str], list[str]] = {}
    servfail: set[str] = set()
    loop = asyncio.get_running_loop()
    transport, _ = await loop.create_datagram_endpoint(
        lambda: _Authority(records, servfail), local_addr=("127.0.0.1", 0)
    )
    port = transport.get_extra_info("sockname")[1]
    try:
        yield port, records, servfail
    finally:
        transport.close()


@pytest.fixture
def silent_port() -> Iterator[int]:
    """A UDP port that receives queries and never answers."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind(("127.0.0.1", 0))
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def live(port: int, timeout: float = 2.0) -> LiveResolver:
    return LiveResolver(DnsSettings(nameservers=["127.0.0.1"], port=port, timeout_seconds=timeout))


async def test_live_resolver_reads_real_dns(
    authority: tuple[int, dict[tuple[str, str], list[str]], set[str]],
) -> None:
    port, records, _ = authority
    records.update(
        {
            (DOMAIN, "MX"): [f"0 {EXCHANGE}.", "32767 ms1.msv1.invalid."],
            # Long TXT values arrive split into several strings.
            (DOMAIN, "TXT"): ['"v=spf1 include:spf.protection.outlook.com" " -all"', '"MS=ms1"'],
            (f"_dmarc.{DOMAIN}", "TXT"): ['"v=DMARC1; p=none"'],
            (f"selector1._domainkey.{DOMAIN}", "CNAME"): [
                "selector1-mail-acmecorp-com._domainkey.acme.onmicrosoft.com."
            ],
            (f"selector2._domainkey.{DOMAIN}", "CNAME"): [
                "selector2-mail-acmecorp-com._domainkey.acme.onmicrosoft.com."
            ],
        }
    )
    now = datetime.now(UTC)
    health = await evaluate(live(port), DOMAIN, set(), now)
    assert (health.spf_status, health.dkim_status, health.dmarc_status, health.mx_status) == (
        VALID,
        VALID,
        VALID,
        VALID,
    )
    assert health.last_checked == now

    # An existing name without the record (no answer) and a name that doesn't exist
    # (NXDOMAIN) are both "missing".
    records[(DOMAIN, "MX")] = []
    del records[(f"_dmarc.{DOMAIN}", "TXT")]
    health = await evaluate(live(port), DOMAIN, set(), now)
    assert (health.mx_status, health.dmarc_status, health.spf_status) == (MISSING, MISSING, VALID)


async def test_live_resolver_failures_are_unknown(
    authority: tuple[int, dict[tuple[str, str], list[str]], set[str]], silent_port: int
) -> None:
    port, records, servfail = authority
    records[(DOMAIN, "TXT")] = ['"v=spf1 include:spf.protection.outlook.com -all"']
    servfail.add(f"_dmarc.{DOMAIN}")
    health = await evaluate(live(port), DOMAIN, set(), datetime.now(UTC))
    assert (health.spf_status, health.dmarc_status) == (VALID, UNKNOWN)

    started = asyncio.get_running_loop().time()
    health = await evaluate(live(silent_port, timeout=0.3), DOMAIN, set(), datetime.now(UTC))
    assert {health.spf_status, health.dkim_status, health.dmarc_status, health.mx_status} == {
        UNKNOWN
    }
    assert asyncio.get_running_loop().time() - started < 2  # the lookups ran concurrently


async def test_tenant_awaiting_consent_cannot_register_domains(api: Api) -> None:
    guid = "5b0c6a38-1d52-4a51-9d1e-8f7d2f3f0c11"
    async with unit_of_work(api.context.sessionmaker) as session:
        account = await accounts.account_by_name(session, "acme")
        assert account is not None
        session.add(
            Tenant(account_id=account.id, tenant_id=guid, status=TenantStatus.PENDING_CONSENT)
        )
    for response in (
        await api.http.post(f"/v1/tenants/{guid}/domains", json={"domain": DOMAIN}),
        await api.http.post(f"/v1/tenants/{guid}/domains/{DOMAIN}/verify"),
    ):
        assert response.status_code == 409
        assert response.json()["detail"]["code"] == "tenant_not_connected"
    listed = await api.http.get(f"/v1/tenants/{guid}/domains")
    assert listed.json() == {"tenant_id": guid, "domains": [], "count": 0, "next_cursor": None}
