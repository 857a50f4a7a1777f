"""The effective-cap rule of DESIGN.md section 4 and how caps group into Exchange policies."""

from __future__ import annotations

from datetime import UTC, date, datetime

from tenantcore.enforcement.caps import (
    CapGroup,
    Ceiling,
    EnforcedMailbox,
    blocked_members,
    cap_from_name,
    cap_groups,
    effective_cap,
    mailbox_cap,
    scope_limit,
)

TODAY = date(2026, 11, 25)


def test_domain_policy_wins_over_tenant_wide() -> None:
    policies = {"*": Ceiling(20), "a.com": Ceiling(10)}
    assert scope_limit("a.com", policies) == Ceiling(10)
    assert scope_limit("b.com", policies) == Ceiling(20)
    assert scope_limit("b.com", {"a.com": Ceiling(10)}) is None


def test_own_limit_never_above_the_ceiling() -> None:
    assert effective_cap(None, 25) == 25
    assert effective_cap(5, 25) == 5
    assert effective_cap(30, 25) == 25
    assert effective_cap(5, None) is None


def test_one_group_per_distinct_cap_lowest_first() -> None:
    mailboxes = [
        EnforcedMailbox("A@a.com", "a.com", None),
        EnforcedMailbox("b@a.com", "a.com", 5),
        EnforcedMailbox("c@b.com", "b.com", 5),
        EnforcedMailbox("d@b.com", "b.com", None),
        EnforcedMailbox("e@c.com", "c.com", 3),
    ]
    groups = cap_groups(mailboxes, {"a.com": Ceiling(10), "b.com": Ceiling(25)}, TODAY)
    assert groups == [
        CapGroup(5, ("b@a.com", "c@b.com")),
        CapGroup(10, ("a@a.com",)),
        CapGroup(25, ("d@b.com",)),
    ]
    assert [g.name for g in groups] == [
        "TenantCore cap 5",
        "TenantCore cap 10",
        "TenantCore cap 25",
    ]


def test_only_tenantcore_names_parse_as_caps() -> None:
    assert cap_from_name("TenantCore cap 7") == 7
    assert cap_from_name("TenantCore cap x") is None
    assert cap_from_name("Default") is None
    assert cap_from_name("Contoso outbound") is None


def _ready(day: int, hour: int = 23) -> datetime:
    return datetime(2026, 11, day, hour, 59, tzinfo=UTC)


def test_a_ramp_starts_on_the_ready_day_and_rises_each_utc_day_to_the_limit() -> None:
    ramp = Ceiling(20, ramp_start=5, ramp_daily_increase=4)
    # Ready late on the 21st: the 21st is day 0, whatever the hour.
    assert [ramp.on(date(2026, 11, day), _ready(21)) for day in range(21, 28)] == [
        5,
        9,
        13,
        17,
        20,
        20,
        20,
    ]
    assert ramp.on(TODAY, None) == 5  # not ready yet: at the start
    assert ramp.on(date(2026, 11, 20), _ready(21)) == 5  # never below the start
    assert Ceiling(20).on(TODAY, _ready(25)) == 20  # no ramp: the limit from the first day


def test_a_ramped_mailbox_keeps_its_own_lower_limit() -> None:
    policies = {"a.com": Ceiling(25, ramp_start=3, ramp_daily_increase=3)}
    assert mailbox_cap(None, "a.com", _ready(24), policies, TODAY) == 6
    assert mailbox_cap(4, "a.com", _ready(24), policies, TODAY) == 4
    assert mailbox_cap(10, "a.com", _ready(1), policies, TODAY) == 10
    assert mailbox_cap(10, "b.com", _ready(24), policies, TODAY) is None


def test_ramped_mailboxes_group_by_the_day_s_cap() -> None:
    mailboxes = [
        EnforcedMailbox("new@a.com", "a.com", None, _ready(25, 8)),
        EnforcedMailbox("day2@a.com", "a.com", None, _ready(23)),
        EnforcedMailbox("old@a.com", "a.com", None, _ready(1)),
        EnforcedMailbox("b@b.com", "b.com", None, _ready(25)),
    ]
    policies = {"a.com": Ceiling(15, 5, 5), "*": Ceiling(10)}
    assert cap_groups(mailboxes, policies, TODAY) == [
        CapGroup(5, ("new@a.com",)),
        CapGroup(10, ("b@b.com",)),
        CapGroup(15, ("day2@a.com", "old@a.com")),
    ]


def test_blocked_mailboxes_belong_in_the_group_of_the_scope_covering_them_today() -> None:
    today, yesterday = TODAY.isoformat(), date(2026, 11, 24).isoformat()
    mailboxes = [
        EnforcedMailbox("A@a.com", "a.com", None, blocked_on=today),
        EnforcedMailbox("b@b.com", "b.com", None, blocked_on=today),
        EnforcedMailbox("c@b.com", "b.com", None, blocked_on=yesterday),  # not rolled over yet
        EnforcedMailbox("d@b.com", "b.com", None),
    ]
    both = {"*": Ceiling(20), "a.com": Ceiling(10)}
    assert blocked_members(mailboxes, both, TODAY) == {"a.com": {"a@a.com"}, "*": {"b@b.com"}}
    assert blocked_members(mailboxes, {"a.com": Ceiling(10)}, TODAY) == {"a.com": {"a@a.com"}}
    assert blocked_members(mailboxes, {}, TODAY) == {}
