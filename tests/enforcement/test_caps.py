"""The effective-cap rule of DESIGN.md section 4 and how caps group into Exchange policies."""

from __future__ import annotations

from tenantcore.enforcement.caps import (
    CapGroup,
    EnforcedMailbox,
    cap_from_name,
    cap_groups,
    effective_cap,
    scope_limit,
)


def test_domain_policy_wins_over_tenant_wide() -> None:
    policies = {"*": 20, "a.com": 10}
    assert scope_limit("a.com", policies) == 10
    assert scope_limit("b.com", policies) == 20
    assert scope_limit("b.com", {"a.com": 10}) is None


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
    groups = cap_groups(mailboxes, {"a.com": 10, "b.com": 25})
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
