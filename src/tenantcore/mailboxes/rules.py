"""Pure checks on what a customer asks for: addresses, passwords, names.

The address becomes the account's user principal name (SMTP AUTH logs in with it), so it must
satisfy Entra's UPN rules, not just RFC 5321; the password must pass Entra's complexity rule
(wire reference 2.2) so Microsoft does not refuse it minutes later in the background.
"""

from __future__ import annotations

import re
import string
import unicodedata

from tenantcore.mailboxes.errors import InvalidDisplayName, InvalidEmail, WeakPassword
from tenantcore.microsoft.exchange import mailbox_name_for

# Entra UPN local part: letters, digits and ' . - _ ! # ^ ~ (wire reference 2.1), at most 64,
# no leading, trailing or doubled dot.
_UPN_LOCAL = re.compile(r"^[A-Za-z0-9'\-_!#^~]+(?:\.[A-Za-z0-9'\-_!#^~]+)*$")
UPN_LOCAL_MAX = 64
UPN_MAX = 113
# Characters an Exchange alias accepts that are also valid in a UPN (no apostrophe: Microsoft's
# New-Mailbox documentation leaves it out of aliases).
_ALIAS = re.compile(r"^[a-z0-9\-_!#^~]+(?:\.[a-z0-9\-_!#^~]+)*$")
ALIAS_MAX = 64
DISPLAY_NAME_MAX = 256
# Entra's password symbols, space included (concept-sspr-policy).
_SYMBOLS = frozenset("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")


def normalise_email(raw: str, domain: str) -> str:
    """The address in lowercase, or `invalid_email` saying why. `domain` is normalised."""
    address = raw.strip().lower()
    local, at, email_domain = address.rpartition("@")
    if not at or email_domain != domain:
        raise InvalidEmail(f"'{raw.strip()}' does not end with @{domain}.")
    if not local or len(local) > UPN_LOCAL_MAX or not _UPN_LOCAL.match(local):
        raise InvalidEmail(
            f"'{raw.strip()}' is not a valid mailbox address: the part before @ must be 1-64 "
            "letters, digits or ' . - _ ! # ^ ~, with dots only between other characters."
        )
    if len(address) > UPN_MAX:
        raise InvalidEmail(f"'{raw.strip()}' is longer than Microsoft's {UPN_MAX} characters.")
    return address


def meets_complexity(password: str) -> bool:
    """8-256 characters, ASCII only, and at least 3 of: lower, upper, digit, symbol."""
    if not 8 <= len(password) <= 256 or not password.isascii():
        return False
    if any(char not in _SYMBOLS and not char.isalnum() for char in password):
        return False
    classes = (
        any(char in string.ascii_lowercase for char in password),
        any(char in string.ascii_uppercase for char in password),
        any(char in string.digits for char in password),
        any(char in _SYMBOLS for char in password),
    )
    return sum(classes) >= 3


def require_strong_password(password: str) -> None:
    if not meets_complexity(password):
        raise WeakPassword


def display_name(raw: object, field: str) -> str:
    """A display name as Exchange takes it (1-256 characters, not blank, no control
    characters: they end up in mail headers and the address book)."""
    if not isinstance(raw, str) or not raw.strip() or len(raw.strip()) > DISPLAY_NAME_MAX:
        raise InvalidDisplayName(f"{field} must be 1-{DISPLAY_NAME_MAX} characters and not blank.")
    if any(unicodedata.category(char) == "Cc" for char in raw):
        raise InvalidDisplayName(f"{field} must not contain control characters.")
    return raw.strip()


def preferred_alias(address: str, taken: set[str]) -> str:
    """The Exchange alias (and Graph mailNickname) to ask for: the local part, as a customer
    expects, unless it is not a valid alias or another mailbox of the tenant uses it (aliases
    are unique per organization, so `info@d1` and `info@d2` cannot share one); then the
    address folded into a name unique per address."""
    local = address.partition("@")[0]
    if len(local) <= ALIAS_MAX and _ALIAS.match(local) and local not in taken:
        return local
    return fallback_alias(address)


def fallback_alias(address: str) -> str:
    return mailbox_name_for(address)
