"""Typed errors for everything that can go wrong talking to Microsoft 365.

Callers branch on the class, never on status codes or message text: the connector digs the real
cause out of Graph's envelope and Exchange's nested details (wire reference 2.7 and 3.6).
"""

from __future__ import annotations


class MicrosoftError(Exception):
    """Base class. `code` is Microsoft's code or exception type; `detail` the useful message."""

    def __init__(
        self,
        detail: str,
        *,
        status: int | None = None,
        code: str | None = None,
        operation: str | None = None,
        request_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.status = status
        self.code = code
        self.operation = operation
        self.request_id = request_id

    def __str__(self) -> str:
        where = f"{self.operation}: " if self.operation else ""
        code = f" [{self.code}]" if self.code else ""
        return f"{where}{self.detail}{code}"


class Throttled(MicrosoftError):
    """429 or Exchange's concurrency refusal; `retry_after` in seconds when Microsoft said."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class Transient(MicrosoftError):
    """5xx, 408, timeouts and dropped connections: worth retrying with backoff."""

    def __init__(self, detail: str, *, retry_after: float | None = None, **kwargs: object) -> None:
        super().__init__(detail, **kwargs)  # type: ignore[arg-type]
        self.retry_after = retry_after


class NotFound(MicrosoftError):
    """The object does not exist (or has not replicated yet)."""


class AlreadyExists(MicrosoftError):
    """A create collided with an existing object (name, alias, address or id)."""


class InvalidPassword(MicrosoftError):
    """Entra rejected the password (complexity or banned-password rules)."""


class DehydratedOrganization(MicrosoftError):
    """The Exchange organization still needs Enable-OrganizationCustomization."""


class Forbidden(MicrosoftError):
    """The app lacks a permission or directory role (or Exchange refused the cmdlet)."""


class AuthenticationFailed(MicrosoftError):
    """The token request or the token itself was refused (bad secret, no consent, expired)."""


class InvalidRequest(MicrosoftError):
    """Microsoft rejected the request as malformed: a bug on our side or bad input."""


RETRYABLE = (Throttled, Transient)
