"""The seed's curl examples, with only the host, key and ids changed, against a running
`tenantcore serve` on the embedded default (issue 4, acceptance 1)."""

from __future__ import annotations

import json
import os
import shlex
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.processes.harness import free_port, wait_for

# The seed's examples verbatim (host https://api.tenantcore.io, key tc_live_your_key, the
# tenant placeholder and mailbox-uuid are substituted before running).
SEED_EXAMPLES = {
    "list": """curl https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailboxes \\
  -H "Authorization: Bearer tc_live_your_key\"""",
    "provision": """curl -X POST \\
  https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailboxes \\
  -H "Authorization: Bearer tc_live_your_key" \\
  -H "Content-Type: application/json" \\
  -d '{
    "domain": "mail.acmecorp.com",
    "account_password": "SecureP@ssw0rd!",
    "mailboxes": [
      { "name": "Sales Outreach", "email": "sales@mail.acmecorp.com" }
    ]
  }'""",
    "patch": """curl -X PATCH \\
  https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailboxes/mailbox-uuid \\
  -H "Authorization: Bearer tc_live_your_key" \\
  -H "Content-Type: application/json" \\
  -d '{"daily_send_limit": 20}'""",
    "limits_domain": """curl -X POST \\
  https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailbox-limits \\
  -H "Authorization: Bearer tc_live_your_key" \\
  -H "Content-Type: application/json" \\
  -d '{
    "daily_send_limit": 25,
    "domain_scope": "mail.acmecorp.com"
  }'""",
    "limits_tenant": """curl -X POST \\
  https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailbox-limits \\
  -H "Authorization: Bearer tc_live_your_key" \\
  -H "Content-Type: application/json" \\
  -d '{"daily_send_limit": 25}'""",
    "get_limits": """curl "https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailbox-limits?domain_scope=mail.acmecorp.com" \\
  -H "Authorization: Bearer tc_live_your_key\"""",
    "usage": """curl https://api.tenantcore.io/v1/tenants/xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx/mailboxes/mailbox-uuid/usage \\
  -H "Authorization: Bearer tc_live_your_key\"""",
}
PLACEHOLDER_TENANT = "xxxxxxxx-xxxx-xxxx-xxxx-xxxxxxxxxxxx"


@dataclass
class Service:
    base: str
    key: str
    tenant_id: str = PLACEHOLDER_TENANT
    mailbox_id: str = "mailbox-uuid"

    def curl(self, example: str) -> tuple[int, Any]:
        command = (
            SEED_EXAMPLES[example]
            .replace("https://api.tenantcore.io", self.base)
            .replace("tc_live_your_key", self.key)
            .replace(PLACEHOLDER_TENANT, self.tenant_id)
            .replace("mailbox-uuid", self.mailbox_id)
        )
        argv = shlex.split(command.replace("\\\n", " "))
        argv[1:1] = ["-sS", "-w", "\n%{http_code}"]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
        body, _, status = result.stdout.rpartition("\n")
        return int(status), json.loads(body) if body else None

    def call(self, method: str, path: str, body: dict[str, Any] | None = None) -> tuple[int, Any]:
        argv = [
            "curl",
            "-sS",
            "-w",
            "\n%{http_code}",
            "-X",
            method,
            f"{self.base}{path}",
            "-H",
            f"Authorization: Bearer {self.key}",
        ]
        if body is not None:
            argv += ["-H", "Content-Type: application/json", "-d", json.dumps(body)]
        result = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=True)  # noqa: S603
        text, _, status = result.stdout.rpartition("\n")
        return int(status), json.loads(text) if text else None


@pytest.fixture
def service(tmp_path: Path) -> Iterator[Service]:
    api_port = free_port()
    env = {
        **os.environ,
        "TENANTCORE_DATA_DIR": str(tmp_path),
        "TENANTCORE_SANDBOX__HTTP_PORT": str(free_port()),
        "TENANTCORE_SANDBOX__SMTP_PORT": str(free_port()),
        "TENANTCORE_SANDBOX__PROPAGATION_SECONDS": "0",
        "TENANTCORE_SANDBOX__TRACE_DELAY_SECONDS": "0",
        "TENANTCORE_WORKER_INTERVAL_SECONDS": "0.2",
    }
    env.pop("TENANTCORE_TEST_DATABASE_URL", None)
    key = (
        subprocess.run(
            [sys.executable, "-m", "tenantcore", "keys", "create", "--account", "acme"],
            env=env,
            capture_output=True,
            text=True,
            check=True,
            timeout=60,
        )
        .stdout.strip()
        .splitlines()[-1]
    )
    process = subprocess.Popen(  # noqa: S603
        [sys.executable, "-m", "tenantcore", "serve", "--port", str(api_port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    base = f"http://127.0.0.1:{api_port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                with socket.create_connection(("127.0.0.1", api_port), timeout=1):
                    break
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(
                        process.stderr.read().decode() if process.stderr else ""
                    ) from None
                time.sleep(0.1)
        yield Service(base=base, key=key)
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(30)


def test_seed_curl_examples_against_tenantcore_serve(service: Service) -> None:
    tenant_id = str(uuid.uuid4())
    status, _ = service.call("POST", "/v1/tenants", {"tenant_id": tenant_id})
    assert status == 201
    wait_for(
        lambda: (
            service.call("GET", f"/v1/tenants/{tenant_id}")[1]["exchange_bootstrap_status"]
            == "ready"
        )
    )
    status, _ = service.call(
        "POST", f"/v1/tenants/{tenant_id}/domains", {"domain": "mail.acmecorp.com"}
    )
    assert status == 201
    status, domain = service.call(
        "POST", f"/v1/tenants/{tenant_id}/domains/mail.acmecorp.com/verify"
    )
    assert status == 200
    assert domain["is_verified"] is True
    service.tenant_id = tenant_id

    status, created = service.curl("provision")
    assert status == 200, created
    assert created["created_count"] == 1
    assert created["results"][0]["status"] == "created"
    assert created["results"][0]["details"] == {
        "display_name": "Sales Outreach",
        "primary_smtp": "sales@mail.acmecorp.com",
        "user_principal_name": "sales@mail.acmecorp.com",
        "alias": "sales",
    }

    status, listed = service.curl("list")
    assert status == 200
    assert listed["tenant_id"] == tenant_id
    assert listed["count"] == 1
    mailbox = listed["mailboxes"][0]
    assert {
        "id",
        "display_name",
        "primary_smtp",
        "user_principal_name",
        "mail_nickname",
        "account_enabled",
        "daily_send_limit",
        "sends_today",
        "blocked_at",
        "created_at",
        "domain_name",
        "tenant_name",
    } <= mailbox.keys()
    service.mailbox_id = mailbox["id"]
    wait_for(lambda: service.curl("list")[1]["mailboxes"][0]["status"] == "ready")

    status, patched = service.curl("patch")
    assert status == 200
    assert patched["status"] == "updated"
    assert patched["mailbox"]["daily_send_limit"] == 20

    for example in ("limits_domain", "limits_tenant"):
        status, policy = service.curl(example)
        assert status == 200, policy
        assert policy["status"] == "success"
        assert policy["daily_send_limit"] == 25
        assert {
            "tenant_id",
            "domain_scope",
            "scope_label",
            "policy",
            "provisioning",
        } <= policy.keys()

    status, policy = service.curl("get_limits")
    assert status == 200
    assert policy["domain_scope"] == "mail.acmecorp.com"

    status, usage = service.curl("usage")
    assert status == 200
    assert usage["mailbox_id"] == service.mailbox_id
    assert usage["daily_send_limit"] == 20
    assert usage["sends_today"] == 0
    assert usage["remaining_sends"] == 20
    assert usage["is_blocked"] is False
    assert usage["utilization_pct"] == 0.0
