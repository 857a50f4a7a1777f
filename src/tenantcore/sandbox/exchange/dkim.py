"""DKIM signing for custom domains: New-, Get- and Set-DkimSigningConfig.

As in Exchange Online (Microsoft's "Set up DKIM to sign mail from your Microsoft 365 domain"):
a configuration is created for an accepted domain with its two keys; Exchange signs the
domain's mail with them only once it is enabled, and enabling needs both CNAMEs published at
the domain (`selector1._domainkey`, `selector2._domainkey`) pointing at the targets the
configuration names, in the newer `<prefix>.<partition>-v1.dkim.mail.microsoft` form. Until
then Set-/New-…-Enabled $true fail with Exchange's ValidationException naming the records.
Status is `Valid` when the CNAMEs are published as named, else `CnameMissing`. There is no
Remove-DkimSigningConfig in Exchange, and a configuration outlives its domain.
"""

from __future__ import annotations

import hashlib
from datetime import timedelta
from typing import Any

from tenantcore.sandbox.directory import dns_records
from tenantcore.sandbox.exchange import converters as cv
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.recipients import accepted_domains
from tenantcore.sandbox.exchange.registry import Cmdlet, CmdletContext, CmdletResult, Param
from tenantcore.sandbox.store import Row
from tenantcore.sandbox.timeutil import iso, parse

SELECTORS = ("selector1", "selector2")
# The partition letters seen in Microsoft's targets; each domain gets one, fixed.
_PARTITIONS = "npqrw"
# Microsoft rotates keys between the selectors; the sandbox schedules none (shown, not used).
_ROTATION = timedelta(days=180)


def cname_targets(initial_domain: str, domain: str, partition: str) -> tuple[str, str]:
    prefix = initial_domain.lower().removesuffix(".onmicrosoft.com")
    dashed = domain.lower().replace(".", "-")
    return (
        f"selector1-{dashed}._domainkey.{prefix}.{partition}-v1.dkim.mail.microsoft",
        f"selector2-{dashed}._domainkey.{prefix}.{partition}-v1.dkim.mail.microsoft",
    )


def _partition(ctx: CmdletContext, domain: str) -> str:
    digest = hashlib.sha256(f"{ctx.tenant_id}/{domain.lower()}".encode()).digest()
    return _PARTITIONS[digest[0] % len(_PARTITIONS)]


def _published(ctx: CmdletContext, domain: str, targets: tuple[str, str]) -> bool:
    """Both CNAMEs at the domain point at the targets (what Exchange checks before it signs)."""
    zone = dns_records(ctx.sb, domain)
    found = {
        str(row["name"]).lower(): str(row["value"]).lower().rstrip(".")
        for row in zone
        if str(row["type"]).upper() == "CNAME"
    }
    return all(
        found.get(f"{selector}._domainkey") == target
        for selector, target in zip(SELECTORS, targets, strict=True)
    )


def _cname_missing(domain: str, targets: tuple[str, str]) -> errors.CmdletError:
    return errors.validation(
        "CNAME record does not exist for this config. Please publish the following two CNAME "
        f"records first. Domain Name : {domain} Host Name : selector1._domainkey Points to "
        f"address or value: {targets[0]} Host Name : selector2._domainkey Points to address "
        f"or value: {targets[1]} . If you have already published the CNAME records, sync will "
        "take a few minutes to as many as 4 days based on your specific DNS. Return and retry "
        "this step later."
    )


def _config(ctx: CmdletContext, identity: str) -> Row | None:
    return ctx.sb.store.one(
        "SELECT * FROM dkim_signing_config WHERE tenant_id = ? AND domain = ?",
        (ctx.tenant_id, identity.strip().lower()),
    )


def _view(ctx: CmdletContext, row: Row) -> dict[str, Any]:
    domain = str(row["domain"])
    targets = cname_targets(ctx.initial_domain, domain, str(row["partition"]))
    created, changed = parse(row["created_at"]), parse(row["changed_at"])
    return {
        "Domain": domain,
        "Name": domain,
        "Identity": domain,
        "Id": domain,
        "Enabled": bool(row["enabled"]),
        "Status": "Valid" if _published(ctx, domain, targets) else "CnameMissing",
        "Selector1CNAME": targets[0],
        "Selector2CNAME": targets[1],
        "Selector1KeySize": row["key_size"],
        "Selector2KeySize": row["key_size"],
        "KeyCreationTime": created,
        "RotateOnDate": created + _ROTATION,
        "SelectorBeforeRotateOnDate": "selector1",
        "SelectorAfterRotateOnDate": "selector2",
        "Algorithm": "RsaSHA256",
        "BodyCanonicalization": "Relaxed",
        "HeaderCanonicalization": "Relaxed",
        "IsDefault": False,
        "IsValid": True,
        "LastChecked": changed,
        "WhenCreatedUTC": created,
        "WhenChangedUTC": changed,
    }


def new_dkim_signing_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    domain = params["DomainName"].strip().lower()
    if domain not in {str(row["name"]).lower() for row in accepted_domains(ctx)}:
        raise errors.validation(
            f'Invalid domain name specified "{params["DomainName"]}". Please specify tenant '
            "name or valid accepted domain."
        )
    if _config(ctx, domain) is not None:
        raise errors.already_exists(domain)
    partition = _partition(ctx, domain)
    enabled = params["Enabled"]
    if enabled:
        targets = cname_targets(ctx.initial_domain, domain, partition)
        if not _published(ctx, domain, targets):
            raise _cname_missing(domain, targets)
    now = iso(ctx.now)
    ctx.sb.store.execute(
        "INSERT INTO dkim_signing_config(tenant_id, domain, enabled, partition, key_size,"
        " created_at, changed_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (ctx.tenant_id, domain, int(enabled), partition, params.get("KeySize", 2048), now, now),
    )
    row = _config(ctx, domain)
    assert row is not None
    return CmdletResult(rows=[_view(ctx, row)])


def get_dkim_signing_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    if "Identity" in params:
        row = _config(ctx, params["Identity"])
        if row is None:
            raise errors.not_found(params["Identity"])
        return CmdletResult(rows=[_view(ctx, row)])
    rows = ctx.sb.store.all(
        "SELECT * FROM dkim_signing_config WHERE tenant_id = ? ORDER BY domain", (ctx.tenant_id,)
    )
    return CmdletResult(rows=[_view(ctx, row) for row in rows])


def set_dkim_signing_config(ctx: CmdletContext, params: dict[str, Any]) -> CmdletResult:
    row = _config(ctx, params["Identity"])
    if row is None:
        raise errors.not_found(params["Identity"])
    domain = str(row["domain"])
    if params.get("Enabled"):
        targets = cname_targets(ctx.initial_domain, domain, str(row["partition"]))
        if not _published(ctx, domain, targets):
            raise _cname_missing(domain, targets)
    if "Enabled" in params:
        ctx.sb.store.execute(
            "UPDATE dkim_signing_config SET enabled = ?, changed_at = ?"
            " WHERE tenant_id = ? AND domain = ?",
            (int(params["Enabled"]), iso(ctx.now), ctx.tenant_id, domain),
        )
    return CmdletResult()


_CANONICALIZATION = cv.choice(("Simple", "Relaxed"), "CanonicalizationType")

CMDLETS = (
    Cmdlet(
        "New-DkimSigningConfig",
        new_dkim_signing_config,
        (
            Param("DomainName", cv.text(), required=True),
            Param("Enabled", cv.boolean(), required=True),
            Param("KeySize", cv.integer(1024, 2048, type_name="System.UInt16")),
            Param("AdminDisplayName", cv.text(nullable=True)),
            Param("BodyCanonicalization", _CANONICALIZATION),
            Param("HeaderCanonicalization", _CANONICALIZATION),
        ),
    ),
    Cmdlet(
        "Get-DkimSigningConfig",
        get_dkim_signing_config,
        (Param("Identity", cv.identity()),),
        paged=True,
    ),
    Cmdlet(
        "Set-DkimSigningConfig",
        set_dkim_signing_config,
        (
            Param("Identity", cv.identity(), required=True),
            Param("Enabled", cv.boolean()),
            Param("AdminDisplayName", cv.text(nullable=True)),
            Param("BodyCanonicalization", _CANONICALIZATION),
            Param("HeaderCanonicalization", _CANONICALIZATION),
        ),
    ),
)
