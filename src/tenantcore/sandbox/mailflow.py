"""Exchange Online's outbound mail flow for submitted messages: sender checks, transport rules,
outbound spam policy limits, restricted senders, the tenant external recipient rate limit
(licensing.py), counters and message-trace rows.

Pure functions over the store (the SMTP layer only parses and replies). Each decision reads and
writes the store synchronously inside one transaction, so concurrent submissions of one sender
can never overshoot a limit. Nothing is relayed anywhere: an accepted message becomes counters
and one trace row per recipient.

Counting follows the outbound spam policy (wire reference 4.4, 5): recipients, not messages,
per sender (the mailbox's primary address) per UTC day of the sandbox clock. A message that
would take the sender past a limit is refused whole with 5.1.8 and the policy's action applies;
a message that lands exactly on the limit is accepted and then the action applies, so a cap of
N accepts exactly N single-recipient messages.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from tenantcore.sandbox.directory import email_addresses
from tenantcore.sandbox.licensing import tenant_limit_refusal
from tenantcore.sandbox.mailrules import (
    SenderFacts,
    apply_transport_rules,
    select_spam_policy,
)
from tenantcore.sandbox.store import loads
from tenantcore.sandbox.timeutil import iso, next_utc_midnight, utc_day

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.store import Row

REPLY_RESTRICTED_SENDER = "550 5.1.8 Access denied, bad outbound sender AS(42004)"
REPLY_SEND_AS_DENIED = (
    "554 5.2.0 STOREDRV.Submission.Exception:SendAsDeniedException.MapiExceptionSendAsDenied;"
    " Failed to process message due to a permanent exception with message Cannot submit message"
)
REPLY_SUBMISSION_QUOTA = "554 5.2.0 STOREDRV.Submission.Exception:SubmissionQuotaExceededException"
REPLY_TOO_MANY_RECIPIENTS = "550 5.5.3 Too many recipients"
REPLY_NOT_AUTHENTICATED = "530 5.7.57 Client not authenticated to send mail"

# Exchange Online's recipient rate limit, and what a policy limit of 0 means.
SERVICE_RECIPIENTS_PER_DAY = 10_000
# The mailbox server named in the 250 reply to DATA.
SUBMISSION_HOSTNAME = "SBX0PR01MB0001.namprd01.prod.outlook.com"


@dataclass(frozen=True)
class Sender:
    tenant_id: str
    mailbox_guid: str
    primary_address: str
    addresses: frozenset[str]
    recipient_limit: int


@dataclass(frozen=True)
class Message:
    envelope_from: str
    recipients: tuple[str, ...]
    message_id: str
    subject: str
    size: int
    client_ip: str


@dataclass(frozen=True)
class Verdict:
    """The reply to the end of DATA, and whether the message was accepted for delivery."""

    reply: str
    delivered: bool


def load_sender(sb: Sandbox, tenant_id: str, mailbox_guid: str) -> Sender | None:
    mailbox = sb.store.one(
        "SELECT * FROM mailbox WHERE tenant_id = ? AND guid = ?", (tenant_id, mailbox_guid)
    )
    if mailbox is None:
        return None
    addresses = {
        row["address"].lower()
        for row in sb.store.all(
            "SELECT address FROM proxy_address WHERE tenant_id = ? AND owner_kind = 'mailbox'"
            " AND owner_guid = ?",
            (tenant_id, mailbox_guid),
        )
    }
    for proxy in email_addresses(mailbox):
        kind, _, address = proxy.partition(":")
        if kind.lower() == "smtp" and address:
            addresses.add(address.lower())
    primary = mailbox["primary_smtp_address"].lower()
    addresses.add(primary)
    return Sender(
        tenant_id=tenant_id,
        mailbox_guid=mailbox_guid,
        primary_address=primary,
        addresses=frozenset(addresses),
        recipient_limit=int(mailbox["recipient_limits"]),
    )


def active_block(sb: Sandbox, sender: Sender) -> Row | None:
    """The sender's restriction in force now (an expired BlockUserForToday row is not)."""
    marks = ",".join("?" * len(sender.addresses))
    return sb.store.one(
        "SELECT * FROM blocked_sender WHERE tenant_id = ?"  # noqa: S608 - placeholders only
        f" AND sender_address IN ({marks}) AND (expires_at IS NULL OR expires_at > ?)",
        (sender.tenant_id, *sorted(sender.addresses), iso(sb.now())),
    )


def check_mail_from(sb: Sandbox, sender: Sender, address: str) -> str | None:
    """The rejection of `MAIL FROM:<address>` for this sender, or None to accept it."""
    if address.lower() not in sender.addresses:
        return REPLY_SEND_AS_DENIED
    if active_block(sb, sender) is not None:
        return REPLY_RESTRICTED_SENDER
    return None


def accepted_domains(sb: Sandbox, tenant_id: str) -> set[str]:
    """Domains Exchange treats as the organization's: verified, with the Email service."""
    domains: set[str] = set()
    for row in sb.store.all(
        "SELECT name, supported_services FROM domain WHERE tenant_id = ? AND is_verified = 1",
        (tenant_id,),
    ):
        if "email" in {str(s).lower() for s in loads(row["supported_services"]) or []}:
            domains.add(row["name"].lower())
    return domains


def _domain_of(address: str) -> str:
    return address.rpartition("@")[2].lower()


def _member_groups(sb: Sandbox, mailbox_guid: str) -> frozenset[str]:
    rows = sb.store.all(
        "SELECT group_guid FROM group_member WHERE member_guid = ?", (mailbox_guid,)
    )
    return frozenset(row["group_guid"].lower() for row in rows)


def submit(sb: Sandbox, tenant_id: str, mailbox_guid: str, message: Message) -> Verdict:
    """Decide a submitted message at the end of DATA and record the outcome (atomic)."""
    with sb.store.transaction():
        sender = load_sender(sb, tenant_id, mailbox_guid)
        if sender is None:
            return Verdict(REPLY_NOT_AUTHENTICATED, delivered=False)
        return _decide(sb, sender, message)


def _decide(sb: Sandbox, sender: Sender, message: Message) -> Verdict:
    now = sb.now()
    if len(message.recipients) > sender.recipient_limit:
        return Verdict(REPLY_TOO_MANY_RECIPIENTS, delivered=False)
    if active_block(sb, sender) is not None:
        _trace(sb, sender, message, now, "Failed")
        return Verdict(REPLY_RESTRICTED_SENDER, delivered=False)
    internal_domains = accepted_domains(sb, sender.tenant_id)
    internal = [_domain_of(rcpt) in internal_domains for rcpt in message.recipients]
    groups = _member_groups(sb, sender.mailbox_guid)
    rule_facts = SenderFacts(sender.addresses, _domain_of(message.envelope_from), groups)
    action = apply_transport_rules(sb, sender.tenant_id, rule_facts, internal)
    if action is not None:
        _trace(sb, sender, message, now, "Failed")
        if action.kind == "reject":
            return Verdict(action.reply, delivered=False)
        return Verdict(_accepted_reply(message), delivered=False)

    policy_facts = SenderFacts(sender.addresses, _domain_of(sender.primary_address), groups)
    policy = select_spam_policy(sb, sender.tenant_id, policy_facts)
    limits = _LimitCheck.evaluate(sb, sender, policy, internal, now)
    if limits.over and limits.enforced:
        _trace(sb, sender, message, now, "Failed")
        _restrict(sb, sender, limits, now)
        return Verdict(REPLY_RESTRICTED_SENDER, delivered=False)
    if limits.today + len(message.recipients) > SERVICE_RECIPIENTS_PER_DAY:
        _trace(sb, sender, message, now, "Failed")
        return Verdict(REPLY_SUBMISSION_QUOTA, delivered=False)
    external = len(internal) - sum(internal)
    refusal = tenant_limit_refusal(sb, sender.tenant_id, internal_domains, external, now)
    if refusal is not None:
        _trace(sb, sender, message, now, "Failed")
        return Verdict(refusal, delivered=False)

    _count(sb, sender, len(message.recipients), now)
    _trace(sb, sender, message, now, "Delivered")
    if limits.reached and limits.enforced:
        _restrict(sb, sender, limits, now)
    return Verdict(_accepted_reply(message), delivered=True)


@dataclass(frozen=True)
class _LimitCheck:
    """Where this message would take the sender relative to the policy's limits."""

    action: str
    enforced: bool
    today: int
    over: bool
    reached: bool
    reason: str

    @classmethod
    def evaluate(
        cls, sb: Sandbox, sender: Sender, policy: Row | None, internal: list[bool], now: datetime
    ) -> _LimitCheck:
        action = "BlockUserForToday" if policy is None else str(policy["action"])
        exempt = action == "BlockUser" and _exempt_today(sb, sender, now)
        today = _recipients_today(sb, sender, now)
        n_internal = sum(internal)
        n_external = len(internal) - n_internal
        checks: list[tuple[int, int, int, str]] = [
            (
                today,
                len(internal),
                (0 if policy is None else policy["recipient_limit_per_day"])
                or SERVICE_RECIPIENTS_PER_DAY,
                "daily recipient limit",
            )
        ]
        if policy is not None and (
            policy["recipient_limit_external_per_hour"]
            or policy["recipient_limit_internal_per_hour"]
        ):
            last_hour_internal, last_hour_external = _recipients_last_hour(sb, sender, now)
            checks.append(
                (
                    last_hour_external,
                    n_external,
                    policy["recipient_limit_external_per_hour"],
                    "hourly external recipient limit",
                )
            )
            checks.append(
                (
                    last_hour_internal,
                    n_internal,
                    policy["recipient_limit_internal_per_hour"],
                    "hourly internal recipient limit",
                )
            )
        over = [
            name for used, adding, cap, name in checks if cap and adding and used + adding > cap
        ]
        reached = [
            name for used, adding, cap, name in checks if cap and adding and used + adding == cap
        ]
        hit = over or reached
        return cls(
            action=action,
            enforced=action != "Alert" and not exempt,
            today=today,
            over=bool(over),
            reached=bool(reached),
            reason=f"Outbound spam policy: {hit[0]} reached" if hit else "",
        )


def _recipients_today(sb: Sandbox, sender: Sender, now: datetime) -> int:
    row = sb.store.one(
        "SELECT recipients FROM send_counter WHERE tenant_id = ? AND sender_address = ?"
        " AND day = ?",
        (sender.tenant_id, sender.primary_address, utc_day(now)),
    )
    return 0 if row is None else int(row["recipients"])


def _recipients_last_hour(sb: Sandbox, sender: Sender, now: datetime) -> tuple[int, int]:
    """Delivered recipients of the last rolling hour: (internal, external)."""
    marks = ",".join("?" * len(sender.addresses))
    rows = sb.store.all(
        "SELECT recipient_address FROM trace WHERE tenant_id = ?"  # noqa: S608 - placeholders
        f" AND sender_address IN ({marks}) AND status = 'Delivered' AND received > ?",
        (sender.tenant_id, *sorted(sender.addresses), iso(now - timedelta(hours=1))),
    )
    internal_domains = accepted_domains(sb, sender.tenant_id)
    internal = sum(_domain_of(row["recipient_address"]) in internal_domains for row in rows)
    return internal, len(rows) - internal


def _exempt_today(sb: Sandbox, sender: Sender, now: datetime) -> bool:
    """An admin lifted a BlockUser restriction today: no further restriction until tomorrow."""
    marks = ",".join("?" * len(sender.addresses))
    row = sb.store.one(
        "SELECT 1 FROM block_exemption WHERE tenant_id = ?"  # noqa: S608 - placeholders only
        f" AND sender_address IN ({marks}) AND day = ?",
        (sender.tenant_id, *sorted(sender.addresses), utc_day(now)),
    )
    return row is not None


def _restrict(sb: Sandbox, sender: Sender, limits: _LimitCheck, now: datetime) -> None:
    """Apply the policy's threshold action: a restricted-sender row, or nothing for Alert."""
    if limits.action == "Alert":
        return
    expires = None if limits.action == "BlockUser" else iso(next_utc_midnight(now))
    stamp = iso(now)
    sb.store.execute(
        "INSERT INTO blocked_sender(tenant_id, sender_address, reason, created_at, changed_at,"
        " expires_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(tenant_id, sender_address) DO UPDATE"
        " SET reason = excluded.reason, created_at = excluded.created_at,"
        " changed_at = excluded.changed_at, expires_at = excluded.expires_at",
        (sender.tenant_id, sender.primary_address, limits.reason, stamp, stamp, expires),
    )


def _count(sb: Sandbox, sender: Sender, recipients: int, now: datetime) -> None:
    sb.store.execute(
        "INSERT INTO send_counter(tenant_id, sender_address, day, recipients, messages)"
        " VALUES (?, ?, ?, ?, 1) ON CONFLICT(tenant_id, sender_address, day) DO UPDATE"
        " SET recipients = recipients + excluded.recipients, messages = messages + 1",
        (sender.tenant_id, sender.primary_address, utc_day(now), recipients),
    )


def _trace(sb: Sandbox, sender: Sender, message: Message, now: datetime, status: str) -> None:
    """One message-trace row per recipient, visible after Microsoft's trace delay."""
    trace_id = str(uuid.uuid4())
    visible_at = iso(now + timedelta(seconds=sb.runtime.trace_delay()))
    for recipient in message.recipients:
        sb.store.execute(
            "INSERT INTO trace(message_trace_id, recipient_address, tenant_id, message_id,"
            " sender_address, subject, status, size, from_ip, to_ip, received, visible_at)"
            " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, '', ?, ?)",
            (
                trace_id,
                recipient.lower(),
                sender.tenant_id,
                message.message_id,
                message.envelope_from.lower(),
                message.subject,
                status,
                message.size,
                message.client_ip,
                iso(now),
                visible_at,
            ),
        )


def _accepted_reply(message: Message) -> str:
    return f"250 2.0.0 OK {message.message_id} [Hostname={SUBMISSION_HOSTNAME}]"
