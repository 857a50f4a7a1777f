"""Model operations more than one emulated host needs: tenants, users, mailboxes, domains, DNS.

Host modules (identity, graph, exchange, smtp, control) own their own queries beyond these.
"""

from __future__ import annotations

import json
import secrets
import uuid
from typing import TYPE_CHECKING

from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso, parse

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox

DEFAULT_GRAPH_ROLES = (
    "Directory.ReadWrite.All",
    "Domain.ReadWrite.All",
    "ExchangeMessageTrace.Read.All",
    "Policy.Read.All",
    "User.ReadWrite.All",
)
DEFAULT_EXCHANGE_ROLES = ("Exchange.ManageAsApp",)
INITIAL_DOMAIN_SERVICES = ("Email", "OfficeCommunicationsOnline")


def new_guid() -> str:
    return str(uuid.uuid4())


def new_verification_code() -> str:
    return f"ms{secrets.randbelow(90_000_000) + 10_000_000}"


def is_guid(value: str) -> bool:
    try:
        uuid.UUID(value)
    except ValueError:
        return False
    return True


def resolve_tenant(sb: Sandbox, ref: str) -> Row | None:
    """A tenant by GUID, initial domain, or any verified domain (Microsoft accepts each)."""
    ref = ref.strip().lower()
    if is_guid(ref):
        return sb.store.one("SELECT * FROM tenant WHERE id = ?", (ref,))
    return sb.store.one(
        "SELECT t.* FROM tenant t WHERE t.initial_domain = ? OR EXISTS ("
        " SELECT 1 FROM domain d WHERE d.tenant_id = t.id AND d.name = ? AND d.is_verified = 1)",
        (ref, ref),
    )


def is_dehydrated(sb: Sandbox, tenant: Row) -> bool:
    """True until Enable-OrganizationCustomization has run and its delay has passed."""
    if not tenant["is_dehydrated"]:
        return False
    ready_at = tenant["customization_ready_at"]
    return ready_at is None or parse(ready_at) > sb.now()


def create_tenant(
    sb: Sandbox,
    *,
    tenant_id: str,
    display_name: str,
    initial_domain: str,
    dehydrated: bool,
    smtp_auth_disabled: bool = True,
    security_defaults_enabled: bool = False,
) -> Row:
    now = iso(sb.now())
    with sb.store.transaction():
        sb.store.execute(
            "INSERT INTO tenant(id, display_name, initial_domain, is_dehydrated,"
            " smtp_auth_disabled, security_defaults_enabled, created_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?)",
            (
                tenant_id,
                display_name,
                initial_domain.lower(),
                int(dehydrated),
                int(smtp_auth_disabled),
                int(security_defaults_enabled),
                now,
            ),
        )
        sb.store.execute(
            "INSERT INTO domain(tenant_id, name, is_verified, is_initial, is_default,"
            " supported_services, verification_code, created_at) VALUES (?, ?, 1, 1, 1, ?, ?, ?)",
            (
                tenant_id,
                initial_domain.lower(),
                dumps(list(INITIAL_DOMAIN_SERVICES)),
                new_verification_code(),
                now,
            ),
        )
        sb.store.execute(
            "INSERT INTO spam_policy(guid, tenant_id, name, is_default, action, created_at,"
            " changed_at) VALUES (?, ?, 'Default', 1, 'BlockUserForToday', ?, ?)",
            (new_guid(), tenant_id, now, now),
        )
    row = sb.store.one("SELECT * FROM tenant WHERE id = ?", (tenant_id,))
    assert row is not None
    return row


def grant_consent(
    sb: Sandbox,
    *,
    tenant_id: str,
    client_id: str,
    roles_graph: list[str],
    roles_exchange: list[str],
) -> None:
    with sb.store.transaction():
        sb.store.execute(
            "INSERT INTO consent(tenant_id, client_id, roles_graph, roles_exchange)"
            " VALUES (?, ?, ?, ?) ON CONFLICT(tenant_id, client_id) DO UPDATE SET"
            " roles_graph = excluded.roles_graph, roles_exchange = excluded.roles_exchange",
            (tenant_id, client_id, dumps(sorted(roles_graph)), dumps(sorted(roles_exchange))),
        )


def find_user(sb: Sandbox, tenant_id: str, id_or_upn: str) -> Row | None:
    key = id_or_upn.strip()
    if is_guid(key):
        return sb.store.one(
            "SELECT * FROM directory_user WHERE tenant_id = ? AND id = ?", (tenant_id, key.lower())
        )
    return sb.store.one(
        "SELECT * FROM directory_user WHERE tenant_id = ? AND user_principal_name = ?",
        (tenant_id, key),
    )


def find_mailbox(sb: Sandbox, tenant_id: str, identity: str) -> Row | None:
    """A mailbox by any identity Exchange accepts: address, name, alias, GUID, user id, UPN."""
    key = identity.strip()
    if key.lower().startswith("smtp:"):
        key = key[5:]
    if is_guid(key):
        return sb.store.one(
            "SELECT * FROM mailbox WHERE tenant_id = ? AND (guid = ? OR exchange_guid = ?"
            " OR user_id = ?)",
            (tenant_id, key.lower(), key.lower(), key.lower()),
        )
    if "@" in key:
        row = sb.store.one(
            "SELECT m.* FROM proxy_address p JOIN mailbox m ON m.guid = p.owner_guid"
            " WHERE p.tenant_id = ? AND p.address = ? AND p.owner_kind = 'mailbox'",
            (tenant_id, key),
        )
        if row is not None:
            return row
        return sb.store.one(
            "SELECT m.* FROM mailbox m JOIN directory_user u ON u.id = m.user_id"
            " WHERE m.tenant_id = ? AND u.user_principal_name = ?",
            (tenant_id, key),
        )
    return sb.store.one(
        "SELECT * FROM mailbox WHERE tenant_id = ? AND (name = ? OR alias = ? OR display_name = ?)",
        (tenant_id, key, key, key),
    )


def mailbox_is_ready(sb: Sandbox, mailbox: Row) -> bool:
    return parse(mailbox["ready_at"]) <= sb.now()


def age_seconds(sb: Sandbox, created_at: str) -> float:
    return (sb.now() - parse(created_at)).total_seconds()


def email_addresses(row: Row) -> list[str]:
    return list(json.loads(row["email_addresses"]))


def tenant_domains(sb: Sandbox, tenant_id: str) -> list[Row]:
    return sb.store.all("SELECT * FROM domain WHERE tenant_id = ? ORDER BY name", (tenant_id,))


def dns_records(sb: Sandbox, domain: str) -> list[Row]:
    """The published zone of a domain (what a resolver would answer)."""
    return sb.store.all(
        "SELECT type, name, value, preference, ttl FROM dns_record WHERE domain = ?"
        " ORDER BY type, name, value",
        (domain.lower(),),
    )
