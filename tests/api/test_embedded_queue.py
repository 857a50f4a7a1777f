"""The embedded job queue keeps nothing once work is done: a `tenantcore serve` that runs for
months must not grow with the jobs it has run."""

from __future__ import annotations

import pytest

from tenantcore.core.jobs import EmbeddedConnector
from tests.api.conftest import Api
from tests.api.mailbox_support import provision, tenant_with_domain
from tests.databases import server_url


@pytest.mark.skipif(server_url() is not None, reason="PostgreSQL keeps the queue in its tables")
async def test_finished_jobs_leave_no_trace_in_memory(api: Api) -> None:
    connector = api.context.jobs.app.connector
    assert isinstance(connector, EmbeddedConnector)
    for n in range(3):
        domain = f"queue{n}.example.com"
        tenant_id = await tenant_with_domain(api, domain)
        assert (await provision(api, tenant_id, "sales", domain=domain)).status_code == 200
        await api.worker.drain()
    assert connector.jobs == {}
    assert connector.events == {}
    assert connector.queries == []
