"""Real MSAL acquires tokens from the sandbox served over HTTPS (issue acceptance 1)."""

from __future__ import annotations

import base64
import json
import uuid
from collections.abc import Iterator
from pathlib import Path

import msal
import pytest
import requests

from tenantcore.sandbox.server import ThreadedSandbox
from tests.conftest import EXCHANGE_SCOPE, GRAPH_SCOPE, fast_config


def _trusting_session(ca_file: Path) -> requests.Session:
    session = requests.Session()
    # requests lets REQUESTS_CA_BUNDLE / CURL_CA_BUNDLE override `verify` unless told not to
    # read the environment; the sandbox's CA must be the only one trusted here.
    session.trust_env = False
    session.verify = str(ca_file)
    return session


@pytest.fixture
def https_sandbox(tmp_path: Path) -> Iterator[tuple[str, requests.Session]]:
    """The sandbox over HTTPS, and a requests session trusting only its CA."""
    threaded = ThreadedSandbox(tmp_path / "sandbox", config=fast_config(), https=True)
    addresses = threaded.start()
    assert threaded.sandbox is not None
    assert threaded.sandbox.tls_ca_pem is not None
    ca_file = tmp_path / "ca.pem"
    ca_file.write_text(threaded.sandbox.tls_ca_pem)
    session = _trusting_session(ca_file)
    try:
        yield addresses.http_url, session
    finally:
        session.close()
        threaded.stop()


def _claims(token: str) -> dict[str, object]:
    payload = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4))))


def test_msal_confidential_client_gets_graph_and_exchange_tokens(
    https_sandbox: tuple[str, requests.Session],
) -> None:
    base, session = https_sandbox
    tenant_id = str(uuid.uuid4())
    client_id = str(uuid.uuid4())
    created = session.post(
        f"{base}/_sandbox/tenants",
        json={
            "tenant_id": tenant_id,
            "display_name": "Fabrikam",
            "dehydrated": False,
            "client_id": client_id,
            "client_secret": "msal-secret",
        },
        timeout=10,
    )
    assert created.status_code == 201

    app = msal.ConfidentialClientApplication(
        client_id,
        client_credential="msal-secret",
        authority=f"{base}/{tenant_id}",
        http_client=session,
        # The sandbox host is not one of MSAL's known clouds; skip the call MSAL would make
        # to the real login.microsoftonline.com to validate it.
        instance_discovery=False,
    )
    graph = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert "access_token" in graph, graph
    assert graph["token_type"] == "Bearer"
    assert _claims(graph["access_token"])["aud"] == "https://graph.microsoft.com"
    assert _claims(graph["access_token"])["tid"] == tenant_id

    exchange = app.acquire_token_for_client(scopes=[EXCHANGE_SCOPE])
    assert _claims(exchange["access_token"])["aud"] == "https://outlook.office365.com"

    # MSAL serves the second request for the same resource from its cache.
    again = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert again["access_token"] == graph["access_token"]
    assert again.get("token_source") == "cache"


def test_msal_reports_wrong_secret_as_aadsts_error(
    https_sandbox: tuple[str, requests.Session],
) -> None:
    base, session = https_sandbox
    tenant_id = str(uuid.uuid4())
    session.post(
        f"{base}/_sandbox/tenants",
        json={"tenant_id": tenant_id, "client_id": "app-1", "client_secret": "right"},
        timeout=10,
    ).raise_for_status()
    app = msal.ConfidentialClientApplication(
        "app-1",
        client_credential="wrong",
        authority=f"{base}/{tenant_id}",
        http_client=session,
        instance_discovery=False,
    )
    result = app.acquire_token_for_client(scopes=[GRAPH_SCOPE])
    assert result["error"] == "invalid_client"
    assert 7000215 in result["error_codes"]
