"""Sealing the account password between the provisioning request and Microsoft.

The request answers at once and Exchange provisioning runs in the background (DESIGN.md
section 4), so the password has to survive until the step that sets it on the Entra account,
including a crash or a retry hours later. It is never stored in plain text: each mailbox row
holds it Fernet-sealed (AES-128-CBC + HMAC-SHA256, random IV) under a key that is not in the
database, and the step that hands it to Microsoft erases it in the same transaction that
records success; a failed mailbox erases it too. A stolen database alone reveals nothing;
database plus key reveals only passwords of mailboxes being provisioned at that moment.

The key is `settings.secret_key`, or else a random one generated on first use into
`<data_dir>/tenantcore.key` (mode 0600). Every process that runs provisioning must see the
same key (on several machines: set TENANTCORE_SECRET_KEY); a password sealed under another key
cannot be opened, and that mailbox fails with a clear error instead of guessing.
"""

from __future__ import annotations

import base64
import contextlib
import hashlib
import os
import secrets
from functools import lru_cache
from pathlib import Path

from cryptography.fernet import Fernet, InvalidToken

from tenantcore.settings import Settings

KEY_FILE_NAME = "tenantcore.key"


class PasswordUnavailable(Exception):
    """The sealed password cannot be opened (another key sealed it)."""


class PasswordVault:
    def __init__(self, secret: str) -> None:
        # Any string works as a secret: SHA-256 turns it into Fernet's 32-byte key.
        digest = hashlib.sha256(secret.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(digest))

    def seal(self, password: str) -> str:
        return self._fernet.encrypt(password.encode()).decode("ascii")

    def open(self, sealed: str) -> str:
        try:
            return self._fernet.decrypt(sealed.encode("ascii")).decode()
        except (InvalidToken, ValueError):
            raise PasswordUnavailable from None


def vault_for(settings: Settings) -> PasswordVault:
    if settings.secret_key is not None:
        return _vault(settings.secret_key.get_secret_value())
    return _vault(_key_file_secret(settings.data_dir.absolute() / KEY_FILE_NAME))


@lru_cache(maxsize=8)
def _vault(secret: str) -> PasswordVault:
    return PasswordVault(secret)


def _key_file_secret(path: Path) -> str:
    """The key in `path`, created on first use. Two processes starting at once agree: the
    file appears atomically (hard link of a finished temporary file), and the loser reads the
    winner's key."""
    with contextlib.suppress(FileNotFoundError):
        return _read_key(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(f".{path.name}.{secrets.token_hex(8)}")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as handle:
        handle.write(secrets.token_urlsafe(32) + "\n")
    try:
        os.link(temporary, path)
    except FileExistsError:
        pass
    finally:
        temporary.unlink()
    return _read_key(path)


def _read_key(path: Path) -> str:
    secret = path.read_text().strip()
    if not secret:
        raise RuntimeError(f"{path} is empty: delete it or set TENANTCORE_SECRET_KEY")
    return secret
