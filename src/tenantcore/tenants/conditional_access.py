"""Which Conditional Access policies refuse SMTP AUTH with a password.

SMTP AUTH with Basic authentication is legacy authentication ("Other clients", client app
type `other`). A policy refuses it when it is enabled (report-only ones refuse nothing), grants
only `block`, covers the `other` client type (or all) and covers Exchange Online (`All`,
`Office365` or Exchange Online's app id) without excluding it: Microsoft's "Block legacy
authentication" template, and the Microsoft-managed policy of that name.

Whether it covers a given mailbox's account is decided only when it can be from the policy
alone: every user or the account by id, and no exclusion TenantCore cannot resolve (groups,
roles). Otherwise it is unknown, and the mailbox is not reported as refused.
"""

from __future__ import annotations

from tenantcore.microsoft.models import ConditionalAccessPolicy

EXCHANGE_ONLINE_APP = "00000002-0000-0ff1-ce00-000000000000"
_EXCHANGE_APPS = frozenset({"all", "office365", EXCHANGE_ONLINE_APP})
_LEGACY_CLIENTS = frozenset({"other", "all"})


def _lower(values: list[str]) -> set[str]:
    return {value.lower() for value in values}


def blocks_legacy_auth(policy: ConditionalAccessPolicy) -> bool:
    """The policy refuses legacy-authentication sign-ins to Exchange Online for the users it
    covers."""
    conditions = policy.conditions
    applications = conditions.applications
    grant = policy.grant_controls
    return (
        policy.state == "enabled"
        and grant is not None
        and _lower(grant.built_in_controls) == {"block"}
        and bool(_lower(conditions.client_app_types) & _LEGACY_CLIENTS)
        and applications is not None
        and bool(_lower(applications.include_applications) & _EXCHANGE_APPS)
        and not _lower(applications.exclude_applications) & _EXCHANGE_APPS
    )


def refuses(policy: ConditionalAccessPolicy, user_id: str | None) -> bool:
    """The policy certainly refuses the SMTP AUTH logins of this account (its Entra object
    id; None when unknown, so only an all-users policy without exclusions is certain)."""
    users = policy.conditions.users
    if users is None or not blocks_legacy_auth(policy):
        return False
    user = (user_id or "").lower()
    included = bool(_lower(users.include_users) & {"all", user} - {""})
    excluded = user in _lower(users.exclude_users) if user else bool(users.exclude_users)
    unresolvable = bool(users.exclude_groups or users.exclude_roles)
    return included and not excluded and not unresolvable


def refusing_names(policies: list[ConditionalAccessPolicy]) -> list[str]:
    """The names of the policies that refuse SMTP AUTH for some or all users, sorted."""
    return sorted(policy.display_name for policy in policies if blocks_legacy_auth(policy))
