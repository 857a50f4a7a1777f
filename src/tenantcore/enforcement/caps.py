"""Which mailboxes are enforced, at which cap (DESIGN.md section 4, "Enforcement").

A mailbox is enforced when a policy covers its domain; a domain policy wins over the
tenant-wide one. Its effective cap is its own `daily_send_limit` when set, never above the
policy's limit (the scope's ceiling), else the policy's. Exchange gets one outbound spam policy
per distinct effective cap in the tenant (at most 25: caps are 1-25), each with a rule naming
the mailboxes at that cap.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from tenantcore.enforcement.models import TENANT_WIDE_SCOPE

CAP_NAME_PREFIX = "TenantCore cap "


@dataclass(frozen=True)
class EnforcedMailbox:
    address: str
    domain: str
    own_limit: int | None


@dataclass(frozen=True)
class CapGroup:
    """One Exchange outbound spam policy + rule: `cap` recipients per UTC day for `senders`."""

    cap: int
    senders: tuple[str, ...]

    @property
    def name(self) -> str:
        return f"{CAP_NAME_PREFIX}{self.cap}"


def scope_limit(domain: str, policies: Mapping[str, int]) -> int | None:
    """The ceiling covering `domain`: its own policy, else the tenant-wide one, else None."""
    if domain in policies:
        return policies[domain]
    return policies.get(TENANT_WIDE_SCOPE)


def effective_cap(own_limit: int | None, ceiling: int | None) -> int | None:
    if ceiling is None:
        return None
    return ceiling if own_limit is None else min(own_limit, ceiling)


def cap_groups(mailboxes: Iterable[EnforcedMailbox], policies: Mapping[str, int]) -> list[CapGroup]:
    """The caps Exchange must hold, lowest first; senders sorted for stable comparisons."""
    by_cap: defaultdict[int, list[str]] = defaultdict(list)
    for mailbox in mailboxes:
        cap = effective_cap(mailbox.own_limit, scope_limit(mailbox.domain, policies))
        if cap is not None:
            by_cap[cap].append(mailbox.address.lower())
    return [CapGroup(cap, tuple(sorted(senders))) for cap, senders in sorted(by_cap.items())]


def cap_from_name(name: str) -> int | None:
    """The cap of a policy/rule TenantCore created, or None for anyone else's."""
    if not name.startswith(CAP_NAME_PREFIX):
        return None
    suffix = name[len(CAP_NAME_PREFIX) :]
    return int(suffix) if suffix.isdigit() else None
