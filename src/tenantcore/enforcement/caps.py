"""Which mailboxes are enforced, at which cap (DESIGN.md section 4, "Enforcement").

A mailbox is enforced when a policy covers its domain; a domain policy wins over the
tenant-wide one. Its effective cap is its own `daily_send_limit` when set, never above the
scope's ceiling, else the ceiling. The ceiling is the policy's limit, or, under a policy with a
ramp, what the ramp allows the mailbox on the day: `start` on the UTC day it became ready, then
`daily_increase` more each day, up to the policy's limit. Exchange gets one outbound spam policy
per distinct effective cap in the tenant (at most 25: caps are 1-25), each with a rule naming
the mailboxes at that cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import date, datetime

from tenantcore.enforcement.models import TENANT_WIDE_SCOPE

CAP_NAME_PREFIX = "TenantCore cap "


@dataclass(frozen=True)
class Ceiling:
    """A policy's cap for the mailboxes of its scope: `limit`, or a ramp up to it."""

    limit: int
    ramp_start: int | None = None
    ramp_daily_increase: int | None = None

    def on(self, today: date, ready_at: datetime | None) -> int:
        """The ceiling on `today` for a mailbox that became ready at `ready_at` (None: not
        ready yet, so at the ramp's start)."""
        if self.ramp_start is None or self.ramp_daily_increase is None:
            return self.limit
        age = 0 if ready_at is None else max((today - ready_at.date()).days, 0)
        return min(self.limit, self.ramp_start + self.ramp_daily_increase * age)


@dataclass(frozen=True)
class EnforcedMailbox:
    address: str
    domain: str
    own_limit: int | None
    ready_at: datetime | None = None
    # The UTC day (YYYY-MM-DD) of the block TenantCore recorded for it, if any.
    blocked_on: str | None = None


@dataclass(frozen=True)
class CapGroup:
    """One Exchange outbound spam policy + rule: `cap` recipients per UTC day for `senders`."""

    cap: int
    senders: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{CAP_NAME_PREFIX}{self.cap}"


def scope_limit(domain: str, policies: Mapping[str, Ceiling]) -> Ceiling | None:
    """The ceiling covering `domain`: its own policy's, else the tenant-wide one's, else None."""
    if domain in policies:
        return policies[domain]
    return policies.get(TENANT_WIDE_SCOPE)


def effective_cap(own_limit: int | None, ceiling: int | None) -> int | None:
    if ceiling is None:
        return None
    return ceiling if own_limit is None else min(own_limit, ceiling)


def mailbox_cap(
    own_limit: int | None,
    domain: str,
    ready_at: datetime | None,
    policies: Mapping[str, Ceiling],
    today: date,
) -> int | None:
    """The mailbox's effective cap on `today`, or None when no policy covers its domain."""
    ceiling = scope_limit(domain, policies)
    return effective_cap(own_limit, None if ceiling is None else ceiling.on(today, ready_at))


def cap_groups(
    mailboxes: Iterable[EnforcedMailbox], policies: Mapping[str, Ceiling], today: date
) -> list[CapGroup]:
    """The caps Exchange must hold on `today`, lowest first; senders sorted for stable
    comparisons."""
    by_cap: defaultdict[int, list[str]] = defaultdict(list)
    for mailbox in mailboxes:
        cap = mailbox_cap(mailbox.own_limit, mailbox.domain, mailbox.ready_at, policies, today)
        if cap is not None:
            by_cap[cap].append(mailbox.address.lower())
    return [CapGroup(cap, tuple(sorted(senders))) for cap, senders in sorted(by_cap.items())]


def cap_from_name(name: str) -> int | None:
    """The cap of a policy/rule TenantCore created, or None for anyone else's."""
    if not name.startswith(CAP_NAME_PREFIX):
        return None
    suffix = name[len(CAP_NAME_PREFIX) :]
    return int(suffix) if suffix.isdigit() else None


def blocked_members(
    mailboxes: Iterable[EnforcedMailbox], policies: Mapping[str, Ceiling], today: date
) -> dict[str, set[str]]:
    """What each scope's blocking group (the switch) should hold on `today`: the mailboxes
    TenantCore has blocked today, in the group of the scope that covers them now."""
    members: defaultdict[str, set[str]] = defaultdict(set)
    day = today.isoformat()
    for mailbox in mailboxes:
        if mailbox.blocked_on != day:
            continue
        scope = mailbox.domain if mailbox.domain in policies else TENANT_WIDE_SCOPE
        if scope in policies:
            members[scope].add(mailbox.address.lower())
    return dict(members)
