"""DKIM signing configurations: created for accepted domains with their two CNAME targets,
enabled only once both CNAMEs are published as named, with Exchange's errors otherwise."""

from __future__ import annotations

from tests.conftest import SandboxHarness
from tests.sandbox.test_exchange_support import add_domain, cause, plain, values

DOMAIN = "mail.acmecorp.com"
VALIDATION = "Microsoft.Exchange.Management.Tasks.ValidationException"


def _cnames(config: dict[str, object]) -> list[dict[str, object]]:
    return [
        {"type": "CNAME", "name": "selector1._domainkey", "value": config["Selector1CNAME"]},
        {"type": "CNAME", "name": "selector2._domainkey", "value": config["Selector2CNAME"]},
    ]


def test_a_config_is_created_disabled_and_enabled_once_its_cnames_are_published(
    sandbox: SandboxHarness,
) -> None:
    tenant = sandbox.create_tenant(display_name="Acme Corp")
    add_domain(sandbox, tenant, DOMAIN)
    client = sandbox.exchange(tenant)
    created = plain(
        values(sandbox.invoke(client, "New-DkimSigningConfig", DomainName=DOMAIN, Enabled=False))[0]
    )
    prefix = tenant.initial_domain.removesuffix(".onmicrosoft.com")
    for selector in ("selector1", "selector2"):
        target = str(created[f"{selector.capitalize()}CNAME"])
        assert target.startswith(f"{selector}-mail-acmecorp-com._domainkey.{prefix}.")
        assert target.endswith("-v1.dkim.mail.microsoft")
    assert (created["Domain"], created["Enabled"], created["Status"]) == (
        DOMAIN,
        False,
        "CnameMissing",
    )
    assert created["Selector1KeySize"] == 2048

    refused = sandbox.invoke(client, "Set-DkimSigningConfig", Identity=DOMAIN, Enabled=True)
    assert refused.status_code == 400
    exception_type, message = cause(refused)
    assert exception_type == VALIDATION
    assert message.startswith("CNAME record does not exist for this config.")
    assert str(created["Selector1CNAME"]) in message
    assert str(created["Selector2CNAME"]) in message

    # One of the two is not enough; a wrong target is not either.
    sandbox.publish_dns(DOMAIN, _cnames(created)[:1])
    assert (
        sandbox.invoke(client, "Set-DkimSigningConfig", Identity=DOMAIN, Enabled=True).status_code
        == 400
    )
    wrong = [{**_cnames(created)[0]}, {**_cnames(created)[1], "value": "selector2.example.net"}]
    sandbox.publish_dns(DOMAIN, wrong)
    assert (
        sandbox.invoke(client, "Set-DkimSigningConfig", Identity=DOMAIN, Enabled=True).status_code
        == 400
    )

    sandbox.publish_dns(DOMAIN, [{**r, "value": f"{r['value']}."} for r in _cnames(created)])
    enabled = sandbox.invoke(client, "Set-DkimSigningConfig", Identity=DOMAIN, Enabled=True)
    assert enabled.status_code == 200, enabled.text
    [config] = values(sandbox.invoke(client, "Get-DkimSigningConfig", Identity=DOMAIN.upper()))
    assert (config["Enabled"], config["Status"]) == (True, "Valid")
    assert config["Selector1CNAME"] == created["Selector1CNAME"]
    listed = values(sandbox.invoke(client, "Get-DkimSigningConfig"))
    assert [row["Domain"] for row in listed] == [DOMAIN]


def test_exchange_refuses_what_it_cannot_configure(sandbox: SandboxHarness) -> None:
    tenant = sandbox.create_tenant()
    add_domain(sandbox, tenant, DOMAIN)
    add_domain(sandbox, tenant, "unverified.example.com", verified=False)
    client = sandbox.exchange(tenant)

    for name in ("unverified.example.com", "not-ours.example.com"):
        response = sandbox.invoke(client, "New-DkimSigningConfig", DomainName=name, Enabled=False)
        assert response.status_code == 400
        assert cause(response) == (
            VALIDATION,
            f'Invalid domain name specified "{name}". Please specify tenant name or valid '
            "accepted domain.",
        )
    # Enabled at creation needs the CNAMEs first, and then creates nothing.
    early = sandbox.invoke(client, "New-DkimSigningConfig", DomainName=DOMAIN, Enabled=True)
    assert cause(early)[0] == VALIDATION
    assert values(sandbox.invoke(client, "Get-DkimSigningConfig")) == []

    assert (
        sandbox.invoke(
            client, "New-DkimSigningConfig", DomainName=DOMAIN, Enabled=False
        ).status_code
        == 200
    )
    again = sandbox.invoke(client, "New-DkimSigningConfig", DomainName=DOMAIN, Enabled=False)
    assert again.status_code == 400
    assert "already exists" in cause(again)[1]
    for cmdlet, params in (
        ("Get-DkimSigningConfig", {"Identity": "other.example.com"}),
        ("Set-DkimSigningConfig", {"Identity": "other.example.com", "Enabled": False}),
    ):
        missing = sandbox.invoke(client, cmdlet, **params)
        assert missing.status_code == 404
        assert "couldn't be found" in cause(missing)[1]
    bad_size = sandbox.invoke(
        client, "New-DkimSigningConfig", DomainName=DOMAIN, Enabled=False, KeySize=4096
    )
    assert bad_size.status_code == 400
    # Disabling needs no records.
    assert (
        sandbox.invoke(client, "Set-DkimSigningConfig", Identity=DOMAIN, Enabled=False).status_code
        == 200
    )
