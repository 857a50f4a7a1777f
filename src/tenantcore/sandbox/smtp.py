"""SMTP AUTH client submission, as smtp.office365.com:587 answers it (wire reference section 7).

STARTTLS is required before anything but EHLO/NOOP/QUIT; AUTH LOGIN and PLAIN (the mailbox's UPN
and password, `smtpauth`) and XOAUTH2 (an application's token, `smtp_oauth`) are offered only
over TLS. MAIL FROM must be one of the
mailbox's own addresses and not a restricted sender; the end of DATA runs Exchange's mail flow
(`mailflow`). Replies use Microsoft's texts and enhanced status codes.

Injected faults (`PUT /_sandbox/faults`, host "smtp", operations AUTH / MAIL / DATA) answer
transiently: a 429 (or 408) becomes `451 4.3.2 ...` and the session goes on; any other status
becomes `421 4.3.2 ...` and the connection is closed, as a busy front end does.
"""

from __future__ import annotations

import asyncio
import base64
import collections
import logging
import uuid
from email.parser import BytesParser
from email.policy import default as default_policy
from email.utils import format_datetime
from typing import TYPE_CHECKING, Any, AnyStr

from aiosmtpd.smtp import MISSING, SMTP, AuthResult, Envelope, LoginPassword, Session

from tenantcore.sandbox import mailflow
from tenantcore.sandbox.smtp_oauth import authenticate_app, parse_initial_response
from tenantcore.sandbox.smtpauth import (
    REPLY_AUTH_UNSUCCESSFUL,
    AuthDecision,
    AuthenticatedMailbox,
    authenticate,
)

if TYPE_CHECKING:
    import ssl

    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.runtime import InjectedFault

FRONT_END_HOSTNAME = "SBX0PR01CA0001.outlook.office365.com"
# Exchange Online's advertised maximum message size (150 MB).
MAX_MESSAGE_SIZE = 157_286_400
MAX_RECIPIENT_ADDRESS = 320
AUTH_LINE_LIMIT = 16_384

REPLY_CONCURRENCY = "432 4.3.2 Concurrent connections limit exceeded."
REPLY_BUSY = "451 4.3.2 Temporary server error. Please try again later."
REPLY_UNAVAILABLE = "421 4.3.2 Service not available, closing transmission channel"

# aiosmtpd's own replies, reworded the way Exchange Online words them.
_MICROSOFT_WORDING = {
    "220 Ready to start TLS": "220 2.0.0 SMTP server ready",
    "530 Must issue a STARTTLS command first": "530 5.7.0 Must issue a STARTTLS command first",
    "354 End data with <CR><LF>.<CR><LF>": "354 Start mail input; end with <CRLF>.<CRLF>",
    "503 Error: need MAIL command": "503 5.5.1 Bad sequence of commands",
    "503 Error: need RCPT command": "503 5.5.1 Bad sequence of commands",
    "503 Error: nested MAIL command": "503 5.5.1 Sender already specified",
    "503 Already authenticated": "503 5.5.1 Already authenticated",
}


def _fault_reply(fault: InjectedFault) -> str:
    return REPLY_BUSY if fault.status in (408, 429) else REPLY_UNAVAILABLE


class SubmissionProtocol(SMTP):
    """aiosmtpd's protocol plus Exchange's wording and the per-mailbox connection slot."""

    # The longest line read: an XOAUTH2 initial response carries a whole access token, far
    # past RFC 5321's 1,000 characters (aiosmtpd's default, which also bounds DATA lines).
    line_length_limit = AUTH_LINE_LIMIT

    def __init__(self, sb: Sandbox, handler: SubmissionHandler, **options: Any) -> None:
        super().__init__(handler, **options)
        # Per connection (aiosmtpd's default is one dict shared by the class); AUTH lines may
        # be as long as any line, other commands keep the 512-byte limit.
        self.command_size_limits = collections.defaultdict(lambda: SMTP.command_size_limit)
        self.command_size_limits["AUTH"] = AUTH_LINE_LIMIT
        self.sandbox = sb
        self.connection_slot: str | None = None

    async def push(self, status: AnyStr) -> None:
        text = status if isinstance(status, str) else status.decode("utf-8", "replace")
        text = _MICROSOFT_WORDING.get(text, text)
        await super().push(text)
        if text.startswith("421") and self.transport is not None:
            self.transport.close()

    def take_connection_slot(self, mailbox_guid: str) -> bool:
        """Count this connection against the mailbox's concurrent-connection limit."""
        counter = self.sandbox.runtime.smtp_connections
        if counter[mailbox_guid] >= self.sandbox.config.smtp_max_connections_per_mailbox:
            return False
        counter[mailbox_guid] += 1
        self.connection_slot = mailbox_guid
        return True

    def connection_lost(self, error: Exception | None) -> None:
        if self.connection_slot is not None:
            counter = self.sandbox.runtime.smtp_connections
            counter[self.connection_slot] -= 1
            if counter[self.connection_slot] <= 0:
                del counter[self.connection_slot]
            self.connection_slot = None
        super().connection_lost(error)


class SubmissionHandler:
    """aiosmtpd handler hooks; every decision is delegated to `smtpauth` and `mailflow`."""

    def __init__(self, sb: Sandbox) -> None:
        self.sandbox = sb

    async def handle_EHLO(  # noqa: N802 - aiosmtpd's hook name
        self,
        server: SubmissionProtocol,
        session: Session,
        envelope: Envelope,  # noqa: ARG002
        hostname: str,
        responses: list[str],  # noqa: ARG002
    ) -> list[str]:
        session.host_name = hostname
        peer = session.peer[0] if isinstance(session.peer, tuple) else "unknown"
        # Exchange also lists DSN, BINARYMIME and CHUNKING; aiosmtpd implements none of them,
        # so advertising them would invite commands this server cannot honour.
        lines = [
            f"{server.hostname} Hello [{peer}]",
            f"SIZE {MAX_MESSAGE_SIZE}",
            "PIPELINING",
            "ENHANCEDSTATUSCODES",
            "STARTTLS" if session.ssl is None else "AUTH LOGIN PLAIN XOAUTH2",
            "8BITMIME",
            "SMTPUTF8",
        ]
        return [f"250-{line}" for line in lines[:-1]] + [f"250 {lines[-1]}"]

    async def handle_AUTH(  # noqa: N802
        self,
        server: SubmissionProtocol,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,  # noqa: ARG002
        args: list[str],  # noqa: ARG002
    ) -> Any:
        fault = await self.sandbox.runtime.before_call("smtp", "AUTH")
        if fault is not None:
            return _fault_reply(fault)
        return MISSING  # aiosmtpd's "go on with the mechanism", which calls `authenticator`

    async def auth_XOAUTH2(  # noqa: N802 - aiosmtpd finds mechanisms by this name
        self, server: SubmissionProtocol, args: list[str]
    ) -> AuthResult:
        """App-only OAuth (`smtp_oauth`); the initial response inline or after a `334`."""
        if len(args) == 1:
            response = await server.challenge_auth("")
            if response is MISSING:
                return AuthResult(success=False)
        else:
            try:
                response = base64.b64decode(args[1].encode(), validate=True)
            except ValueError:
                await server.push("501 5.5.2 Cannot decode base64")
                return AuthResult(success=False, handled=True)
        assert isinstance(response, bytes)
        parsed = parse_initial_response(response)
        if parsed is None:
            return AuthResult(success=False, handled=False, message=REPLY_AUTH_UNSUCCESSFUL)
        decision = authenticate_app(self.sandbox, *parsed)
        return self._logged_in(server, decision)

    def _logged_in(self, server: SubmissionProtocol, decision: AuthDecision) -> AuthResult:
        if decision.mailbox is None:
            return AuthResult(success=False, handled=False, message=decision.reply)
        if not server.take_connection_slot(decision.mailbox.mailbox_guid):
            return AuthResult(success=False, handled=False, message=REPLY_CONCURRENCY)
        return AuthResult(success=True, auth_data=decision.mailbox)

    def authenticator(
        self,
        server: SubmissionProtocol,
        session: Session,  # noqa: ARG002
        envelope: Envelope,  # noqa: ARG002
        mechanism: str,  # noqa: ARG002
        auth_data: LoginPassword,
    ) -> AuthResult:
        try:
            username = auth_data.login.decode("utf-8")
            password = auth_data.password.decode("utf-8")
        except UnicodeDecodeError:
            return AuthResult(success=False, handled=False, message=REPLY_AUTH_UNSUCCESSFUL)
        return self._logged_in(server, authenticate(self.sandbox, username, password))

    async def handle_MAIL(  # noqa: N802
        self,
        server: SubmissionProtocol,  # noqa: ARG002
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        fault = await self.sandbox.runtime.before_call("smtp", "MAIL")
        if fault is not None:
            return _fault_reply(fault)
        identity = _identity(session)
        if identity is None:
            return mailflow.REPLY_NOT_AUTHENTICATED
        sender = mailflow.load_sender(self.sandbox, identity.tenant_id, identity.mailbox_guid)
        if sender is None:
            return mailflow.REPLY_NOT_AUTHENTICATED
        rejection = mailflow.check_mail_from(self.sandbox, sender, address)
        if rejection is not None:
            return rejection
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 Sender OK"

    async def handle_RCPT(  # noqa: N802
        self,
        server: SubmissionProtocol,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        local, at, domain = address.rpartition("@")
        if not at or not local or "." not in domain or len(address) > MAX_RECIPIENT_ADDRESS:
            return "501 5.1.3 Invalid address"
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 Recipient OK"

    async def handle_DATA(  # noqa: N802
        self,
        server: SubmissionProtocol,  # noqa: ARG002
        session: Session,
        envelope: Envelope,
    ) -> str:
        fault = await self.sandbox.runtime.before_call("smtp", "DATA")
        if fault is not None:
            return _fault_reply(fault)
        identity = _identity(session)
        if identity is None:
            return mailflow.REPLY_NOT_AUTHENTICATED
        message = _message(session, envelope)
        # From here on no await: the decision and its writes are one atomic step.
        verdict = mailflow.submit(self.sandbox, identity.tenant_id, identity.mailbox_guid, message)
        return verdict.reply

    async def handle_QUIT(  # noqa: N802
        self,
        server: SubmissionProtocol,  # noqa: ARG002
        session: Session,  # noqa: ARG002
        envelope: Envelope,  # noqa: ARG002
    ) -> str:
        return "221 2.0.0 Service closing transmission channel"


def _identity(session: Session) -> AuthenticatedMailbox | None:
    data: object = session.auth_data
    if session.authenticated and isinstance(data, AuthenticatedMailbox):
        return data
    return None


def _message(session: Session, envelope: Envelope) -> mailflow.Message:
    content: bytes = envelope.original_content or b""
    try:
        headers: Any = BytesParser(policy=default_policy).parsebytes(content, headersonly=True)
    except Exception:  # noqa: BLE001 - unparsable headers are traced as empty
        headers = {}
    message_id = _header(headers, "Message-ID")
    if not message_id.isascii() or not message_id.isprintable() or not 3 <= len(message_id) <= 500:
        message_id = f"<{uuid.uuid4().hex.upper()}@{mailflow.SUBMISSION_HOSTNAME}>"
    recipients: dict[str, str] = {}
    for address in envelope.rcpt_tos:
        recipients.setdefault(address.lower(), address)
    peer = session.peer[0] if isinstance(session.peer, tuple) else ""
    return mailflow.Message(
        envelope_from=str(envelope.mail_from),
        recipients=tuple(recipients),
        message_id=message_id,
        subject=_header(headers, "Subject"),
        size=len(content),
        client_ip=str(peer),
    )


def _header(headers: Any, name: str) -> str:
    try:
        value = headers[name]
    except Exception:  # noqa: BLE001 - a malformed header is traced as empty
        return ""
    return "" if value is None else str(value).strip()


class _DropDeprecationNoise(logging.Filter):
    """aiosmtpd logs a deprecation warning of its own on every successful AUTH."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "login_data is deprecated" not in record.getMessage()


async def start_smtp_server(
    sb: Sandbox, host: str, port: int, tls_context: ssl.SSLContext
) -> asyncio.Server:
    """Serve SMTP submission on the running loop (the sandbox's one loop)."""
    aiosmtpd_log = logging.getLogger("mail.log")
    if not any(isinstance(f, _DropDeprecationNoise) for f in aiosmtpd_log.filters):
        aiosmtpd_log.addFilter(_DropDeprecationNoise())
    loop = asyncio.get_running_loop()
    handler = SubmissionHandler(sb)

    def protocol() -> SubmissionProtocol:
        banner = f"Microsoft ESMTP MAIL Service ready at {format_datetime(sb.now())}"
        return SubmissionProtocol(
            sb,
            handler,
            hostname=FRONT_END_HOSTNAME,
            ident=banner,
            tls_context=tls_context,
            require_starttls=True,
            auth_require_tls=True,
            authenticator=handler.authenticator,
            data_size_limit=MAX_MESSAGE_SIZE,
            enable_SMTPUTF8=True,
            loop=loop,
        )

    return await loop.create_server(protocol, host=host, port=port)
