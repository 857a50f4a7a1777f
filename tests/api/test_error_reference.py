"""docs/errors.md lists every error code the API answers with, with its status and whether it is
retryable; and errors carry `retryable` and the request's id as that page says."""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Iterator
from pathlib import Path

import tenantcore
from tenantcore.core.errors import AppError
from tests.api.conftest import Api
from tests.api.mailbox_support import faults

REFERENCE = Path(__file__).parents[2] / "docs" / "errors.md"
# Answered by the framework's handlers (core/errors.py, core/bodylimit.py), not an AppError.
FRAMEWORK_CODES = {
    "not_found": (404, False),
    "method_not_allowed": (405, False),
    "payload_too_large": (413, False),
    "internal_error": (500, True),
}


def _documented() -> dict[str, tuple[int, bool]]:
    """code → (status, retryable) from the reference's table."""
    found: dict[str, tuple[int, bool]] = {}
    for line in REFERENCE.read_text().splitlines():
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if len(cells) == 5 and cells[0].startswith("`"):
            assert cells[2] in ("yes", "no"), line
            found[cells[0].strip("`")] = (int(cells[1]), cells[2] == "yes")
    return found


def _subclasses(cls: type[AppError]) -> Iterator[type[AppError]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def _raised_codes() -> dict[str, tuple[int, bool]]:
    """Every AppError of the product (the sandbox's Microsoft errors are not TenantCore's)."""
    skipped = (".sandbox", ".migrations", "tenantcore.__main__")
    for module in pkgutil.walk_packages(tenantcore.__path__, "tenantcore."):
        if not any(part in module.name for part in skipped):
            importlib.import_module(module.name)
    return {error.code: (error.status, error.retryable) for error in _subclasses(AppError)}


def test_the_reference_lists_every_code_with_its_status_and_retryability() -> None:
    documented = _documented()
    expected = {**_raised_codes(), **FRAMEWORK_CODES}
    assert len(expected) > 50
    assert documented == expected


async def test_an_error_says_whether_to_retry_and_which_request_it_was(api: Api) -> None:
    missing = await api.http.get("/v1/tenants/00000000-0000-0000-0000-000000000001")
    detail = missing.json()["detail"]
    assert detail["code"] == "tenant_not_found"
    assert detail["retryable"] is False
    assert detail["request_id"] == missing.headers["X-Request-Id"]

    tenant_id = await api.connect_tenant()
    bad = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailbox-limits",
        json={"daily_send_limit": 50},
        headers={"X-Request-Id": "support-ticket-43"},
    )
    assert bad.json()["detail"] == {
        "code": "invalid_send_limit",
        "message": "daily_send_limit must be a whole number between 1 and 25.",
        "retryable": False,
        "request_id": "support-ticket-43",
    }

    graph_down = {"host": "graph", "error_rate": 1.0, "retry_after_seconds": 0}
    await faults(api, graph_down)
    outage = await api.http.post(
        f"/v1/tenants/{tenant_id}/domains", json={"domain": "mail.acmecorp.com"}
    )
    assert outage.status_code == 503
    assert outage.json()["detail"]["code"] == "microsoft_unavailable"
    assert outage.json()["detail"]["retryable"] is True
    await faults(api)
    retried = await api.http.post(
        f"/v1/tenants/{tenant_id}/domains", json={"domain": "mail.acmecorp.com"}
    )
    assert retried.status_code == 201

    too_big = await api.http.post(
        f"/v1/tenants/{tenant_id}/mailboxes",
        content=b"{" + b" " * (api.context.settings.max_body_bytes + 1) + b"}",
        headers={"Content-Type": "application/json"},
    )
    assert too_big.status_code == 413
    assert too_big.json()["detail"]["retryable"] is False
    assert too_big.json()["detail"]["request_id"] == too_big.headers["X-Request-Id"]
