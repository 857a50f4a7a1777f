"""API key format and hashing. Keys are `tc_live_` + 48 hex characters (192 random bits)."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from tenantcore.accounts.models import API_KEY_LOOKUP_CHARS, API_KEY_PREFIX

_KEY_PATTERN = re.compile(rf"^{API_KEY_PREFIX}[0-9a-f]{{48}}$")


def generate_key() -> str:
    return API_KEY_PREFIX + secrets.token_hex(24)


def is_well_formed(key: str) -> bool:
    return _KEY_PATTERN.match(key) is not None


def lookup_prefix(key: str) -> str:
    """The indexed part used to find the key's row (not enough to authenticate)."""
    return key[len(API_KEY_PREFIX) : len(API_KEY_PREFIX) + API_KEY_LOOKUP_CHARS]


def hash_key(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def matches(key: str, secret_hash: str) -> bool:
    return hmac.compare_digest(hash_key(key), secret_hash)
