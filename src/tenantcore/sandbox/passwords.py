"""Microsoft Entra's password rule and the sandbox's password hashes.

Like Microsoft, the sandbox keeps only a salted hash; SMTP AUTH checks against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string

# The symbol set of Entra's password policy (concept-sspr-policy), space included.
_SYMBOLS = frozenset("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")
_ITERATIONS = 20_000


def meets_complexity(password: str) -> bool:
    """8-256 characters, ASCII only, and at least 3 of: lower, upper, digit, symbol."""
    if not 8 <= len(password) <= 256:
        return False
    if any(ord(char) > 127 for char in password):
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


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str | None) -> bool:
    if not encoded:
        return False
    try:
        scheme, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))
