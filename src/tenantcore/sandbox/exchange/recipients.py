"""Recipient rules shared by mailboxes and groups: names, aliases, addresses, identities.

Exchange keeps one namespace per organization: a Name or Alias is unique across mailboxes and
groups, and every proxy address (`proxy_address` table) belongs to one recipient at most.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.directory import age_seconds, find_mailbox, is_guid
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.store import loads

if TYPE_CHECKING:
    from tenantcore.sandbox.exchange.registry import CmdletContext
    from tenantcore.sandbox.store import Row

NAME_LIMIT = 64
ALIAS_LIMIT = 64
DISPLAY_NAME_LIMIT = 256
_ALIAS_CHARS = r"A-Za-z0-9!#$%&'*+\-/=?^_`{|}~"
_ALIAS_RE = re.compile(rf"^[{_ALIAS_CHARS}]+(\.[{_ALIAS_CHARS}]+)*$")
_NAME_FORBIDDEN = set('\\"/[]:;|=,+*?<>')
_ADDRESS_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+(\.[A-Za-z0-9!#$%&'*+\-/=?^_`{|}~]+)*"
    r"@([A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
_SERVER_SUFFIX = "SBXPR01A001.PROD.OUTLOOK.COM"


def organization_id(ctx: CmdletContext) -> str:
    domain = ctx.initial_domain
    return (
        f"{_SERVER_SUFFIX}/Microsoft Exchange Hosted Organizations/{domain} -"
        f" {_SERVER_SUFFIX}/ConfigurationUnits/{domain}/Configuration"
    )


def distinguished_name(ctx: CmdletContext, name: str) -> str:
    return (
        f"CN={name},OU={ctx.initial_domain},OU=Microsoft Exchange Hosted Organizations,"
        "DC=SBXPR01A001,DC=PROD,DC=OUTLOOK,DC=COM"
    )


def validate_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise errors.null_argument("Name")
    if len(name) > NAME_LIMIT:
        raise errors.too_long("Name", name, NAME_LIMIT)
    bad = sorted(set(name) & _NAME_FORBIDDEN)
    if bad or any(ord(ch) < 32 for ch in name):
        raise errors.invalid_value(
            f'The value "{name}" of property "Name" contains characters that aren\'t allowed:'
            f" {''.join(bad)}."
        )
    return name


def validate_alias(alias: str) -> str:
    if len(alias) > ALIAS_LIMIT:
        raise errors.too_long("Alias", alias, ALIAS_LIMIT)
    if not _ALIAS_RE.match(alias):
        raise errors.invalid_value(
            f'The alias "{alias}" contains characters that aren\'t valid. An alias can contain'
            " letters, numbers, and the characters ! # $ % & ' * + - / = ? ^ _ ` { | } ~;"
            " periods must be surrounded by other valid characters."
        )
    return alias


def validate_display_name(display_name: str) -> str:
    if len(display_name) > DISPLAY_NAME_LIMIT:
        raise errors.too_long("DisplayName", display_name, DISPLAY_NAME_LIMIT)
    return display_name


def alias_from(name: str) -> str:
    """The alias Exchange derives from a Name when none is given: its valid characters."""
    kept = re.sub(rf"[^{_ALIAS_CHARS}.]", "", name)
    kept = re.sub(r"\.{2,}", ".", kept).strip(".")
    return kept[:ALIAS_LIMIT] or "recipient"


def accepted_domains(ctx: CmdletContext) -> list[Row]:
    """Domains Exchange accepts mail for: the initial domain and every verified domain whose
    supportedServices include Email (wire reference 4.7)."""
    rows = ctx.sb.store.all(
        "SELECT * FROM domain WHERE tenant_id = ? ORDER BY is_initial DESC, name", (ctx.tenant_id,)
    )
    return [
        row
        for row in rows
        if row["is_initial"]
        or (
            row["is_verified"]
            and "email" in {str(s).lower() for s in loads(row["supported_services"]) or []}
        )
    ]


def default_domain(ctx: CmdletContext) -> str:
    domains = accepted_domains(ctx)
    for row in domains:
        if row["is_default"]:
            return str(row["name"])
    return ctx.initial_domain


def check_address(ctx: CmdletContext, address: str, parameter: str) -> str:
    """A well-formed SMTP address on an accepted domain (the caller's case kept)."""
    address = address.strip()
    if not _ADDRESS_RE.match(address):
        raise errors.invalid_value(
            f'The email address "{address}" isn\'t correct. Please use this format: user name,'
            " the @ sign, followed by the domain name. For example, tonysmith@contoso.com or"
            f" tony.smith@contoso.com. (Parameter: {parameter})"
        )
    domain = address.rpartition("@")[2].lower()
    if domain not in {str(row["name"]).lower() for row in accepted_domains(ctx)}:
        raise errors.recipient_task(
            f'The email address "{address}" isn\'t correct: the domain "{domain}" isn\'t an'
            " accepted domain for your organization."
        )
    return address


def ensure_name_free(
    ctx: CmdletContext, *, name: str | None, alias: str | None, owner_guid: str | None = None
) -> None:
    """Name and Alias are unique across the organization's mailboxes and groups."""
    for column, value in (("name", name), ("alias", alias)):
        if value is None:
            continue
        for table in ("mailbox", "distribution_group"):
            row = ctx.sb.store.one(
                f"SELECT guid, name FROM {table} WHERE tenant_id = ? AND {column} = ?",  # noqa: S608
                (ctx.tenant_id, value),
            )
            if row is not None and row["guid"] != owner_guid:
                raise errors.already_exists(distinguished_name(ctx, str(row["name"])))


def ensure_addresses_free(
    ctx: CmdletContext, proxies: list[str], owner_guid: str | None = None
) -> None:
    """Every address is unused by other recipients (ProxyAddressExistsException otherwise)."""
    for proxy in proxies:
        address = proxy.partition(":")[2] if ":" in proxy else proxy
        row = ctx.sb.store.one(
            "SELECT owner_kind, owner_guid FROM proxy_address WHERE tenant_id = ? AND address = ?",
            (ctx.tenant_id, address),
        )
        if row is None or row["owner_guid"] == owner_guid:
            continue
        table = "mailbox" if row["owner_kind"] == "mailbox" else "distribution_group"
        owner = ctx.sb.store.one(
            f"SELECT name FROM {table} WHERE guid = ?",  # noqa: S608 - fixed table names
            (row["owner_guid"],),
        )
        raise errors.proxy_address_exists(proxy, str(owner["name"]) if owner else address)


def store_proxies(ctx: CmdletContext, owner_kind: str, owner_guid: str, proxies: list[str]) -> None:
    """Make the `proxy_address` rows of one recipient exactly its SMTP proxies."""
    ctx.sb.store.execute(
        "DELETE FROM proxy_address WHERE tenant_id = ? AND owner_kind = ? AND owner_guid = ?",
        (ctx.tenant_id, owner_kind, owner_guid),
    )
    for proxy in proxies:
        prefix, _, address = proxy.partition(":")
        if prefix.lower() != "smtp":
            continue
        ctx.sb.store.execute(
            "INSERT INTO proxy_address(tenant_id, address, owner_kind, owner_guid)"
            " VALUES (?, ?, ?, ?)",
            (ctx.tenant_id, address.lower(), owner_kind, owner_guid),
        )


def default_proxies(ctx: CmdletContext, primary: str, alias: str) -> list[str]:
    """The primary address plus `alias@<initial domain>`, as Exchange stamps new recipients."""
    proxies = [f"SMTP:{primary}"]
    routing = f"{alias}@{ctx.initial_domain}"
    if routing.lower() != primary.lower():
        proxies.append(f"smtp:{routing}")
    return proxies


@dataclass(frozen=True)
class NewRecipient:
    """The validated identity of a recipient about to be created (mailbox or group)."""

    name: str
    alias: str
    display_name: str
    primary: str
    proxies: list[str]


def new_recipient(ctx: CmdletContext, params: dict[str, Any]) -> NewRecipient:
    """Validate Name/Alias/DisplayName/PrimarySmtpAddress as New-Mailbox and
    New-DistributionGroup do, and check that none of it is taken in the tenant."""
    name = validate_name(params["Name"])
    alias = validate_alias(params["Alias"]) if "Alias" in params else alias_from(name)
    display_name = validate_display_name(params.get("DisplayName") or name)
    primary = check_address(
        ctx,
        params.get("PrimarySmtpAddress") or f"{alias}@{default_domain(ctx)}",
        "PrimarySmtpAddress",
    )
    ensure_name_free(ctx, name=name, alias=alias)
    proxies = default_proxies(ctx, primary, alias)
    ensure_addresses_free(ctx, proxies)
    return NewRecipient(name, alias, display_name, primary, proxies)


def lookup_mailbox(ctx: CmdletContext, identity: str, *, lagging: bool = True) -> Row:
    """The mailbox an identity names, or Exchange's not-found error.

    A mailbox younger than the replication window may 404 (`replication_lagging`), as reads
    and writes do right after New-Mailbox on the real service.
    """
    row = find_mailbox(ctx.sb, ctx.tenant_id, identity)
    if row is None:
        raise errors.not_found(identity)
    if lagging and ctx.sb.runtime.replication_lagging(age_seconds(ctx.sb, row["created_at"])):
        raise errors.not_found(identity)
    return row


def find_group(ctx: CmdletContext, identity: str) -> Row | None:
    key = identity.strip()
    if key.lower().startswith("smtp:"):
        key = key[5:]
    if is_guid(key):
        return ctx.sb.store.one(
            "SELECT * FROM distribution_group WHERE tenant_id = ? AND guid = ?",
            (ctx.tenant_id, key.lower()),
        )
    if "@" in key:
        return ctx.sb.store.one(
            "SELECT g.* FROM proxy_address p JOIN distribution_group g ON g.guid = p.owner_guid"
            " WHERE p.tenant_id = ? AND p.address = ? AND p.owner_kind = 'group'",
            (ctx.tenant_id, key),
        )
    return ctx.sb.store.one(
        "SELECT * FROM distribution_group WHERE tenant_id = ?"
        " AND (name = ? OR alias = ? OR display_name = ?) ORDER BY name LIMIT 1",
        (ctx.tenant_id, key, key, key),
    )


def lookup_group(ctx: CmdletContext, identity: str) -> Row:
    row = find_group(ctx, identity)
    if row is None:
        raise errors.not_found(identity)
    return row


def mailbox_proxies(mailbox: Row) -> list[str]:
    return list(loads(mailbox["email_addresses"]) or [])


def group_proxies(ctx: CmdletContext, group: Row) -> list[str]:
    """A group's EmailAddresses: its primary first, then the other addresses it owns."""
    primary = str(group["primary_smtp_address"])
    others = [
        str(row["address"])
        for row in ctx.sb.store.all(
            "SELECT address FROM proxy_address WHERE tenant_id = ? AND owner_kind = 'group'"
            " AND owner_guid = ? ORDER BY address",
            (ctx.tenant_id, group["guid"]),
        )
        if str(row["address"]).lower() != primary.lower()
    ]
    return [f"SMTP:{primary}", *(f"smtp:{address}" for address in others)]
