"""Organization-wide cmdlets: bootstrap state, the org SMTP AUTH switch, accepted domains
(wire reference 4.1, 4.2, 4.7)."""

from __future__ import annotations

import uuid
from datetime import timedelta
from typing import Any

from tenantcore.sandbox.directory import is_dehydrated
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.recipients import accepted_domains, organization_id
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse

ALREADY_ENABLED = (
    "This operation is not required. Organization is already enabled for customization."
)


def _stable_guid(ctx: CmdletContext, kind: str, key: str = "") -> uuid.UUID:
    """GUIDs of configuration objects the sandbox does not store: stable per tenant."""
    return uuid.uuid5(uuid.UUID(ctx.tenant_id), f"{kind}/{key.lower()}")


def _tenant(ctx: CmdletContext) -> Row:
    row = ctx.sb.store.one("SELECT * FROM tenant WHERE id = ?", (ctx.tenant_id,))
    assert row is not None
    return row


def get_organization_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    del params
    tenant = _tenant(ctx)
    created = parse(tenant["created_at"])
    changed = parse(tenant["customization_ready_at"] or tenant["created_at"])
    return CmdletResult(
        rows=[
            {
                "Name": ctx.initial_domain,
                "DisplayName": tenant["display_name"],
                "Identity": ctx.initial_domain,
                "Id": ctx.initial_domain,
                "IsDehydrated": is_dehydrated(ctx.sb, tenant),
                "OrganizationId": organization_id(ctx),
                "ExchangeObjectId": _stable_guid(ctx, "organization"),
                "Guid": _stable_guid(ctx, "organization"),
                "IsValid": True,
                "ObjectState": "Unchanged",
                "WhenCreated": created,
                "WhenCreatedUTC": created,
                "WhenChanged": changed,
                "WhenChangedUTC": changed,
            }
        ]
    )


def enable_organization_customization(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    del params
    tenant = _tenant(ctx)
    if not tenant["is_dehydrated"] or tenant["customization_ready_at"] is not None:
        raise errors.invalid_operation(ALREADY_ENABLED)
    ready_at = ctx.now + timedelta(seconds=ctx.sb.config.bootstrap_seconds)
    ctx.sb.store.execute(
        "UPDATE tenant SET customization_ready_at = ? WHERE id = ?", (iso(ready_at), ctx.tenant_id)
    )
    return CmdletResult()


def get_transport_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    del params
    tenant = _tenant(ctx)
    return CmdletResult(
        rows=[
            {
                "SmtpClientAuthenticationDisabled": bool(tenant["smtp_auth_disabled"]),
                "MaxRecipientEnvelopeLimit": "500",
                "MaxSendSize": "35 MB (36,700,160 bytes)",
                "MaxReceiveSize": "36 MB (37,748,736 bytes)",
                "Identity": "Transport Settings",
                "Id": "Transport Settings",
                "Name": "Transport Settings",
                "OrganizationId": organization_id(ctx),
                "Guid": _stable_guid(ctx, "transport-config"),
                "IsValid": True,
            }
        ]
    )


def set_transport_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "SmtpClientAuthenticationDisabled" in params:
        ctx.sb.store.execute(
            "UPDATE tenant SET smtp_auth_disabled = ? WHERE id = ?",
            (int(params["SmtpClientAuthenticationDisabled"]), ctx.tenant_id),
        )
    return CmdletResult()


def _domain_row(ctx: CmdletContext, domain: Row) -> dict[str, Any]:
    name = str(domain["name"])
    created = parse(domain["created_at"])
    return {
        "DomainName": name,
        "DomainType": "Authoritative",
        "Default": bool(domain["is_default"]),
        "InitialDomain": bool(domain["is_initial"]),
        "Name": name,
        "Identity": name,
        "Id": name,
        "MatchSubDomains": False,
        "IsValid": True,
        "WhenCreated": created,
        "WhenCreatedUTC": created,
        "Guid": _stable_guid(ctx, "accepted-domain", name),
    }


def get_accepted_domain(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    domains = accepted_domains(ctx)
    if "Identity" in params:
        wanted = params["Identity"].lower()
        domains = [
            row
            for row in domains
            if str(row["name"]).lower() == wanted
            or str(_stable_guid(ctx, "accepted-domain", str(row["name"]))) == wanted
        ]
        if not domains:
            raise errors.not_found(params["Identity"])
    return CmdletResult(rows=[_domain_row(ctx, row) for row in domains])


CMDLETS = (
    Cmdlet("Get-OrganizationConfig", get_organization_config, (Param("Identity", cv.identity()),)),
    Cmdlet("Enable-OrganizationCustomization", enable_organization_customization),
    Cmdlet("Get-TransportConfig", get_transport_config, (Param("Identity", cv.identity()),)),
    Cmdlet(
        "Set-TransportConfig",
        set_transport_config,
        (
            Param("Identity", cv.identity()),
            Param("SmtpClientAuthenticationDisabled", cv.boolean()),
        ),
    ),
    Cmdlet(
        "Get-AcceptedDomain", get_accepted_domain, (Param("Identity", cv.identity()),), paged=True
    ),
)
