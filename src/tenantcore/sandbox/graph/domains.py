"""`/domains`: add, read, verification records, verify against the sandbox's DNS, update, delete.

Verification reads the public zone published through `PUT /_sandbox/dns/{domain}`: a TXT
`MS=<code>` or an MX `<code>.msv1.invalid` at the apex proves ownership (wire reference 2.6).
"""

from __future__ import annotations

import json
import re
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.directory import dns_records, new_verification_code
from tenantcore.sandbox.graph.common import (
    METADATA,
    GraphError,
    GraphResponse,
    invalid_value,
    not_found,
    object_conflict,
    unknown_property,
    wrong_type,
)
from tenantcore.sandbox.graph.dispatch import Endpoint
from tenantcore.sandbox.graph.dnsrecords import service_records, verification_records
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext

READ_ROLES = frozenset(
    {"Domain.Read.All", "Domain.ReadWrite.All", "Directory.Read.All", "Directory.ReadWrite.All"}
)
WRITE_ROLES = frozenset({"Domain.ReadWrite.All", "Directory.ReadWrite.All"})
SETTABLE_SERVICES = {
    "email": "Email",
    "officecommunicationsonline": "OfficeCommunicationsOnline",
    "yammer": "Yammer",
}
_DOMAIN = re.compile(r"^(?=.{1,253}$)([a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z]{2,63}$")
# Without expiry (tenants created since 2021), Entra reports the largest Int32.
_NEVER_EXPIRES = 2147483647


def domain_view(sb_rows: list[Row], row: Row) -> dict[str, Any]:
    names = {other["name"].lower() for other in sb_rows}
    name = row["name"].lower()
    is_root = not any(name.endswith("." + other) for other in names if other != name)
    return {
        "authenticationType": "Managed",
        "availabilityStatus": None,
        "id": name,
        "isAdminManaged": True,
        "isDefault": bool(row["is_default"]),
        "isInitial": bool(row["is_initial"]),
        "isRoot": is_root,
        "isVerified": bool(row["is_verified"]),
        "passwordNotificationWindowInDays": 14,
        "passwordValidityPeriodInDays": _NEVER_EXPIRES,
        "state": None,
        "supportedServices": json.loads(row["supported_services"]),
    }


def _tenant_rows(ctx: GraphContext) -> list[Row]:
    return ctx.sb.store.all(
        "SELECT * FROM domain WHERE tenant_id = ? ORDER BY name", (ctx.tenant_id,)
    )


def _domain_or_404(ctx: GraphContext, key: str | None = None) -> tuple[list[Row], Row]:
    key = ctx.params["id"] if key is None else key
    rows = _tenant_rows(ctx)
    for row in rows:
        if row["name"].lower() == key.lower():
            return rows, row
    raise not_found(key)


def _entity(rows: list[Row], row: Row, **overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {"@odata.context": f"{METADATA}domains/$entity"}
    body.update(domain_view(rows, row))
    body.update(overrides)
    return body


async def create_domain(ctx: GraphContext) -> GraphResponse:
    body = ctx.request.json()
    for key in body:
        if key != "id" and not key.startswith("@"):
            raise unknown_property(key, "domain")
    raw = body.get("id")
    if raw is not None and not isinstance(raw, str):
        raise wrong_type(raw, "Edm.String")
    name = (raw or "").strip().lower().rstrip(".")
    if not _DOMAIN.match(name) or name.endswith(".onmicrosoft.com"):
        raise invalid_value("id", "Domain")
    rows = _tenant_rows(ctx)
    if any(row["name"].lower() == name for row in rows):
        raise object_conflict("id")
    # A subdomain of a domain the tenant already verified is verified with it.
    parent_verified = any(
        row["is_verified"] and name.endswith("." + row["name"].lower()) for row in rows
    )
    with ctx.sb.store.transaction():
        ctx.sb.store.execute(
            "INSERT INTO domain(tenant_id, name, is_verified, supported_services,"
            " verification_code, created_at) VALUES (?, ?, ?, '[]', ?, ?)",
            (ctx.tenant_id, name, int(parent_verified), new_verification_code(), iso(ctx.sb.now())),
        )
    rows, row = _domain_or_404(ctx, name)
    return GraphResponse(201, _entity(rows, row))


async def get_domain(ctx: GraphContext) -> GraphResponse:
    rows, row = _domain_or_404(ctx)
    return GraphResponse(200, _entity(rows, row))


async def list_domains(ctx: GraphContext) -> GraphResponse:
    rows = _tenant_rows(ctx)
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}domains",
            "value": [domain_view(rows, row) for row in rows],
        },
    )


async def get_verification_records(ctx: GraphContext) -> GraphResponse:
    _, row = _domain_or_404(ctx)
    name = row["name"].lower()
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}domains('{name}')/verificationDnsRecords",
            "value": verification_records(ctx.tenant_id, name, row["verification_code"]),
        },
    )


async def get_service_records(ctx: GraphContext) -> GraphResponse:
    _, row = _domain_or_404(ctx)
    name = row["name"].lower()
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}domains('{name}')/serviceConfigurationRecords",
            "value": service_records(ctx.tenant_id, name),
        },
    )


def _proves_ownership(records: list[Row], code: str) -> bool:
    for record in records:
        if record["name"] not in ("@", ""):
            continue
        value = record["value"].strip().strip('"').strip()
        if record["type"] == "TXT" and value == f"MS={code}":
            return True
        if record["type"] == "MX" and value.rstrip(".").lower() == f"{code}.msv1.invalid":
            return True
    return False


def _verification_failed(reason: str) -> GraphError:
    return GraphError(
        400,
        "Request_BadRequest",
        f"Domain verification failed with the following error: {reason}",
    )


async def verify_domain(ctx: GraphContext) -> GraphResponse:
    rows, row = _domain_or_404(ctx)
    name = row["name"].lower()
    if row["is_verified"]:
        raise GraphError(400, "Request_BadRequest", "Domain is already verified.")
    elsewhere = ctx.sb.store.one(
        "SELECT 1 FROM domain WHERE name = ? AND tenant_id != ? AND is_verified = 1",
        (name, ctx.tenant_id),
    )
    if elsewhere is not None:
        raise _verification_failed(
            f"The domain '{name}' is already verified in another organization. Remove it from"
            " that organization before verifying it here."
        )
    code = row["verification_code"]
    if not _proves_ownership(dns_records(ctx.sb, name), code):
        raise _verification_failed(
            f"Unable to find the verification DNS record for '{name}'. Publish a TXT record"
            f" 'MS={code}' (or an MX record '{code}.msv1.invalid') at the domain's root and"
            " try again."
        )
    with ctx.sb.store.transaction():
        # Subdomains the tenant added before are verified along with their root.
        ctx.sb.store.execute(
            "UPDATE domain SET is_verified = 1 WHERE tenant_id = ? AND (name = ? OR name LIKE ?)",
            (ctx.tenant_id, name, f"%.{name}"),
        )
    rows, row = _domain_or_404(ctx)
    return GraphResponse(200, _entity(rows, row, availabilityStatus="AvailableImmediately"))


def _services(value: Any) -> list[str]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise wrong_type(value, "Collection(Edm.String)")
    services: list[str] = []
    for item in value:
        canonical = SETTABLE_SERVICES.get(item.lower())
        if canonical is None:
            raise invalid_value("supportedServices", "Domain")
        if canonical not in services:
            services.append(canonical)
    return services


async def update_domain(ctx: GraphContext) -> GraphResponse:
    _, row = _domain_or_404(ctx)
    body = ctx.request.json()
    for key in body:
        if key not in ("supportedServices", "isDefault") and not key.startswith("@"):
            raise unknown_property(key, "domain")
    if body and not row["is_verified"]:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Domain '{row['name']}' is not verified. Only verified domains can be updated.",
        )
    services = None if "supportedServices" not in body else _services(body["supportedServices"])
    if "isDefault" in body and body["isDefault"] is not True:
        raise invalid_value("isDefault", "Domain")
    store = ctx.sb.store
    with store.transaction():
        if services is not None:
            store.execute(
                "UPDATE domain SET supported_services = ? WHERE tenant_id = ? AND name = ?",
                (dumps(services), ctx.tenant_id, row["name"]),
            )
        if "isDefault" in body:
            store.execute("UPDATE domain SET is_default = 0 WHERE tenant_id = ?", (ctx.tenant_id,))
            store.execute(
                "UPDATE domain SET is_default = 1 WHERE tenant_id = ? AND name = ?",
                (ctx.tenant_id, row["name"]),
            )
    return GraphResponse(204)


def _delete_refusal(ctx: GraphContext, rows: list[Row], row: Row) -> str | None:
    name = row["name"].lower()
    if row["is_initial"]:
        return "The initial domain of the organization cannot be deleted."
    if row["is_default"]:
        return (
            "The default domain of the organization cannot be deleted."
            " Make another domain the default first."
        )
    if any(other["name"].lower().endswith("." + name) for other in rows):
        return f"Domain '{name}' has subdomains. Delete its subdomains first."
    pattern = f"%@{name}"
    users = ctx.sb.store.one(
        "SELECT COUNT(*) AS n FROM directory_user"
        " WHERE tenant_id = ? AND user_principal_name LIKE ?",
        (ctx.tenant_id, pattern),
    )
    addresses = ctx.sb.store.one(
        "SELECT COUNT(*) AS n FROM proxy_address WHERE tenant_id = ? AND address LIKE ?",
        (ctx.tenant_id, pattern),
    )
    if (users and users["n"]) or (addresses and addresses["n"]):
        return (
            f"Domain '{name}' is still referenced by user principal names or e-mail addresses"
            " in the organization. Remove those references before deleting the domain."
        )
    return None


async def delete_domain(ctx: GraphContext) -> GraphResponse:
    rows, row = _domain_or_404(ctx)
    refusal = _delete_refusal(ctx, rows, row)
    if refusal is not None:
        raise GraphError(400, "Request_BadRequest", refusal)
    with ctx.sb.store.transaction():
        ctx.sb.store.execute(
            "DELETE FROM domain WHERE tenant_id = ? AND name = ?", (ctx.tenant_id, row["name"])
        )
    return GraphResponse(204)


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("POST", "/domains", create_domain, WRITE_ROLES),
        Endpoint("GET", "/domains", list_domains, READ_ROLES),
        Endpoint("GET", "/domains/{id}", get_domain, READ_ROLES),
        Endpoint("PATCH", "/domains/{id}", update_domain, WRITE_ROLES),
        Endpoint("DELETE", "/domains/{id}", delete_domain, WRITE_ROLES),
        Endpoint("POST", "/domains/{id}/verify", verify_domain, WRITE_ROLES),
        Endpoint(
            "GET", "/domains/{id}/verificationDnsRecords", get_verification_records, READ_ROLES
        ),
        Endpoint(
            "GET", "/domains/{id}/serviceConfigurationRecords", get_service_records, READ_ROLES
        ),
    ]
