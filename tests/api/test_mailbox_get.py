"""`GET …/mailboxes/{mailbox_id}` (beyond the seed): one mailbox, exactly as the list shows it,
so a client can poll a new mailbox until it is `ready`."""

from __future__ import annotations

from tenantcore.mailboxes.schemas import MailboxOut
from tests.api.conftest import Api
from tests.api.mailbox_support import DOMAIN, provision, tenant_with_domain


async def test_one_mailbox_is_the_lists_item_and_shows_it_turn_ready(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    created = (await provision(api, tenant_id, "sales", "ops")).json()["results"]
    sales_id = next(r["mailbox_id"] for r in created if r["email"] == f"sales@{DOMAIN}")
    url = f"/v1/tenants/{tenant_id}/mailboxes/{sales_id}"
    first = await api.http.get(url)
    assert first.status_code == 200, first.text
    assert first.json()["status"] == "provisioning"
    assert first.json()["ready_at"] is None

    await api.worker.drain()  # ready at once: the tests' propagation takes no time
    mailbox = (await api.http.get(url)).json()
    assert MailboxOut.model_validate(mailbox).model_dump(mode="json") == mailbox
    listing = (await api.http.get(f"/v1/tenants/{tenant_id}/mailboxes")).json()["mailboxes"]
    assert mailbox == next(m for m in listing if m["id"] == sales_id)
    assert (mailbox["status"], mailbox["primary_smtp"]) == ("ready", f"sales@{DOMAIN}")
    assert mailbox["ready_at"] is not None
    # A read-only key may read it.
    reader_key = (await api.http.post("/v1/api-keys", json={"scope": "read"})).json()["api_key"]
    assert (await api.client(reader_key).get(url)).json() == mailbox


async def test_unknown_mailboxes_tenants_and_other_accounts_are_not_found(api: Api) -> None:
    tenant_id = await tenant_with_domain(api)
    created = (await provision(api, tenant_id, "sales")).json()["results"]
    mailbox_id = created[0]["mailbox_id"]
    for path, code in (
        (f"/v1/tenants/{tenant_id}/mailboxes/no-such-mailbox", "mailbox_not_found"),
        (f"/v1/tenants/{tenant_id}/mailboxes/{'9' * 300}", "mailbox_not_found"),
        (
            f"/v1/tenants/00000000-0000-0000-0000-000000000000/mailboxes/{mailbox_id}",
            "tenant_not_found",
        ),
    ):
        response = await api.http.get(path)
        assert response.status_code == 404, path
        assert response.json()["detail"]["code"] == code, path

    # Another account's key finds no tenant; another tenant of mine has no such mailbox.
    other = api.client(await api.new_key("globex"))
    foreign = await other.get(f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}")
    assert (foreign.status_code, foreign.json()["detail"]["code"]) == (404, "tenant_not_found")
    second_tenant = await api.connect_tenant()
    elsewhere = await api.http.get(f"/v1/tenants/{second_tenant}/mailboxes/{mailbox_id}")
    assert (elsewhere.status_code, elsewhere.json()["detail"]["code"]) == (
        404,
        "mailbox_not_found",
    )
    anonymous = await api.client(**{"X-Nothing": "1"}).get(
        f"/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}"
    )
    assert anonymous.status_code == 401
