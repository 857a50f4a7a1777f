"""Password Protection in the sandbox: a password that meets the complexity rule is still refused
when banned terms (Microsoft's global ones, the tenant's custom list, the tenant's name) leave
it fewer than five points, as Entra scores it (wire reference 2.2)."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from tenantcore.sandbox.passwords import GLOBAL_BANNED_TERMS, banned_password_score
from tenantcore.sandbox.store import SandboxStore
from tests.conftest import SandboxHarness
from tests.sandbox.graph_support import assert_graph_error, create_user, user_body

COMPLEXITY = (
    "The specified password does not comply with password complexity requirements."
    " Please provide a different password."
)


@pytest.mark.parametrize(
    ("password", "points"),
    [
        # Microsoft's worked example: "contoso" and "blank" banned, two points for the terms
        # and two for "12": four, refused.
        ("C0ntos0Blank12", 4),
        # Substitutions undone (0→o, 1→l, $→s, @→a) and one edit away still match.
        ("P@$$w0rd", 1),
        ("Passwerd!", 2),
        ("Contos!2", 3),
        # Enough else around a banned term passes.
        ("SecureP@ssw0rd!", 8),
        ("Sandbox-Pass-1234", 17),
    ],
)
def test_passwords_are_scored_as_entra_scores_them(password: str, points: int) -> None:
    assert banned_password_score(password, [*GLOBAL_BANNED_TERMS, "contoso", "blank"]) == points


def test_names_match_only_as_written() -> None:
    assert banned_password_score("Contoso!x", [], ["Contoso"]) == 3
    assert banned_password_score("Contosa!x", [], ["Contoso"]) == 9


def test_the_custom_list_and_the_tenant_name_refuse_complex_passwords(
    sandbox: SandboxHarness,
) -> None:
    tenant = sandbox.create_tenant(display_name="Fabrikam", banned_passwords=["Outreach"])
    graph = sandbox.graph(tenant)
    domain = tenant.initial_domain
    for password in ("0utreach!2", "Fabrikam-1", "Passw0rd1!"):
        refused = graph.post(
            "/users",
            json=user_body(f"a@{domain}", passwordProfile={"password": password}),
        )
        assert_graph_error(refused, 400, "Request_BadRequest", COMPLEXITY)
    user = create_user(graph, f"b@{domain}")
    reset = graph.patch(
        f"/users/{user['id']}", json={"passwordProfile": {"password": "Outreach-2026"}}
    )
    assert reset.status_code == 204  # "outreach" is one point, "-2026" five more
    weak = graph.patch(f"/users/{user['id']}", json={"passwordProfile": {"password": "Outreach1!"}})
    assert_graph_error(weak, 400, "Request_BadRequest", COMPLEXITY)

    # The list is the tenant admin's to change; other tenants have their own.
    changed = sandbox.http.patch(
        f"/_sandbox/tenants/{tenant.tenant_id}", json={"banned_passwords": ["Cold-Email"]}
    )
    assert changed.status_code == 200
    assert changed.json()["banned_passwords"] == ["cold-email"]
    assert (
        graph.patch(
            f"/users/{user['id']}", json={"passwordProfile": {"password": "Outreach1!"}}
        ).status_code
        == 204
    )
    other = sandbox.create_tenant(display_name="Northwind")
    create_user(
        sandbox.graph(other),
        f"c@{other.initial_domain}",
        passwordProfile={"password": "Cold-Email1"},
    )


def test_the_list_is_validated(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    url = f"/_sandbox/tenants/{tenant.tenant_id}"
    for body in (
        {"banned_passwords": ["abc"]},
        {"banned_passwords": ["x" * 17]},
        {"banned_passwords": ["term"] * 1001},
        {"banned_passwords": "outreach"},
        {"owner": "me"},
    ):
        assert sandbox.http.patch(url, json=body).status_code == 400, body
    assert sandbox.http.get(url).json()["banned_passwords"] == []
    missing = sandbox.http.patch(
        "/_sandbox/tenants/00000000-0000-0000-0000-000000000000", json={"banned_passwords": []}
    )
    assert missing.status_code == 404


def test_a_sandbox_file_from_before_the_list_is_upgraded_at_start(tmp_path: Path) -> None:
    path = tmp_path / "sandbox.db"
    SandboxStore(path).close()
    with sqlite3.connect(path) as old:  # as files written before the column existed
        old.execute("ALTER TABLE tenant DROP COLUMN banned_passwords")
    store = SandboxStore(path)
    try:
        columns = {row["name"] for row in store.all("PRAGMA table_info(tenant)")}
        assert "banned_passwords" in columns
    finally:
        store.close()
