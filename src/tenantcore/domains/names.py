"""Domain names: what TenantCore accepts, and the names Microsoft derives from them."""

from __future__ import annotations

import re

from tenantcore.domains.errors import InvalidDomain

# One LDH label (RFC 1123): letters, digits, inner hyphens, 1-63 characters.
_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
# The top-level label is alphabetic or an IDNA A-label, never all digits (an IP address is
# not a domain).
_TOP_LABEL = re.compile(r"^(?:[a-z]{2,63}|xn--[a-z0-9-]{1,59})$")
# Microsoft's own initial domains: they come with the tenant and can't be added or verified.
_MICROSOFT_SUFFIXES = ("onmicrosoft.com",)
MAX_LENGTH = 253


def normalise_domain(raw: str) -> str:
    """The canonical spelling (lowercase, no trailing dot) of a name a customer may register;
    `invalid_domain` saying why otherwise."""
    name = raw.strip().lower().removesuffix(".")
    if not name:
        raise InvalidDomain("domain must not be empty.")
    if not name.isascii():
        raise InvalidDomain(
            f"'{raw.strip()}' contains non-ASCII characters: use the IDNA form (xn--...)."
        )
    labels = name.split(".")
    if len(name) > MAX_LENGTH or len(labels) < 2:
        raise InvalidDomain(f"'{name}' is not a fully qualified domain name.")
    if not all(_LABEL.match(label) for label in labels) or not _TOP_LABEL.match(labels[-1]):
        raise InvalidDomain(f"'{name}' is not a fully qualified domain name.")
    if any(name == suffix or name.endswith("." + suffix) for suffix in _MICROSOFT_SUFFIXES):
        raise InvalidDomain(
            f"'{name}' is a Microsoft initial domain; register a custom domain you own."
        )
    return name


def lookup_name(raw: str) -> str | None:
    """A path's domain as stored, or None when it can't name a registered domain."""
    try:
        return normalise_domain(raw)
    except InvalidDomain:
        return None


def relative_host(name: str, domain: str) -> str:
    """`name` as a registrar's host field in the domain's zone: "@" for the domain itself."""
    name = name.lower().removesuffix(".")
    if name == domain:
        return "@"
    return name.removesuffix("." + domain)


def classic_mx_host(domain: str) -> str:
    """Exchange Online's inbound host for a domain: dots become dashes."""
    return f"{domain.replace('.', '-')}.mail.protection.outlook.com"
