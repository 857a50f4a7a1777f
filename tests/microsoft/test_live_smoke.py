"""Read-only smoke test against a real Microsoft 365 tenant.

Skipped unless an operator provides credentials (README, "Live smoke test"):
TENANTCORE_LIVE_TENANT_ID, TENANTCORE_LIVE_CLIENT_ID, and TENANTCORE_LIVE_CLIENT_SECRET or
TENANTCORE_LIVE_CERTIFICATE_PATH + TENANTCORE_LIVE_CERTIFICATE_THUMBPRINT. It changes nothing
in the tenant.
"""

from __future__ import annotations

import os
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from pydantic import SecretStr

from tenantcore.microsoft.connector import build_connector
from tenantcore.settings import MicrosoftSettings

_TENANT = os.environ.get("TENANTCORE_LIVE_TENANT_ID")
_CLIENT = os.environ.get("TENANTCORE_LIVE_CLIENT_ID")
_SECRET = os.environ.get("TENANTCORE_LIVE_CLIENT_SECRET")
_CERT = os.environ.get("TENANTCORE_LIVE_CERTIFICATE_PATH")
_THUMBPRINT = os.environ.get("TENANTCORE_LIVE_CERTIFICATE_THUMBPRINT")

pytestmark = pytest.mark.skipif(
    not (_TENANT and _CLIENT and (_SECRET or (_CERT and _THUMBPRINT))),
    reason="set TENANTCORE_LIVE_TENANT_ID, _CLIENT_ID and _CLIENT_SECRET (or a certificate)",
)


async def test_live_tenant_read_only_round_trip() -> None:
    assert _TENANT is not None
    assert _CLIENT is not None
    settings = MicrosoftSettings(
        mode="live",
        client_id=_CLIENT,
        client_secret=SecretStr(_SECRET) if _SECRET else None,
        certificate_path=Path(_CERT) if _CERT else None,
        certificate_thumbprint=_THUMBPRINT,
    )
    connector = build_connector(settings)
    try:
        organization = await connector.exchange.get_organization_config(_TENANT)
        assert isinstance(organization.is_dehydrated, bool)
        transport = await connector.exchange.get_transport_config(_TENANT)
        assert isinstance(transport.smtp_client_authentication_disabled, bool)
        domains = await connector.graph.list_domains(_TENANT)
        assert any(domain.is_initial for domain in domains)
        accepted = await connector.exchange.list_accepted_domains(_TENANT)
        assert accepted
        for domain in accepted:
            if not domain.domain_name.lower().endswith(".onmicrosoft.com"):
                # Read only: whatever DKIM state the custom domain is in, it reads as a model.
                await connector.exchange.get_dkim_config(_TENANT, domain.domain_name)
        # Every real tenant has some subscription; each reads as a model.
        assert await connector.graph.subscriptions(_TENANT)
        await connector.exchange.list_shared_mailboxes(_TENANT)
        await connector.exchange.list_blocked_senders(_TENANT)
        now = datetime.now(UTC)
        await connector.exchange.message_trace(_TENANT, start=now - timedelta(hours=1), end=now)
    finally:
        await connector.aclose()
