"""The tenant external recipient rate limit (TERRL, wire reference 5), estimated from the
tenant's subscriptions.

Exchange Online caps the external recipients of a whole tenant's mail in a rolling 24 hours
at 500 * (non-trial Exchange licenses ^ 0.7) + 9,500, or 5,000 when the tenant has only trial
subscriptions; past it every mailbox's external mail is refused (`550 5.7.233`). Shared
mailboxes add no licenses, so the caps of many sending mailboxes can add up to more than the
tenant may send: a tenant with one license and 134 domains of three mailboxes at 25 a day is
over. TenantCore reads the subscriptions with the hourly SMTP AUTH check
(tenants/smtp_auth.py) and shows the estimate on the tenant and beside its caps in the tenant
usage summary. Microsoft publishes the formula, not the tenant's number: it is an estimate.
"""

from __future__ import annotations

from dataclasses import dataclass

from tenantcore.microsoft.models import CompanySubscription

# A subscription in its grace period (`Warning`) still works.
WORKING_STATUSES = frozenset({"Enabled", "Warning"})
# Comes with many products that have no mailbox: not an Exchange license.
NOT_A_MAILBOX_PLAN = "EXCHANGE_S_FOUNDATION"
TRIAL_TENANT_LIMIT = 5_000


@dataclass(frozen=True)
class Licenses:
    """The tenant's working Exchange licenses: paid, and whether it has only trial ones."""

    exchange_licenses: int
    trial_only: bool


def _gives_a_mailbox(subscription: CompanySubscription) -> bool:
    return any(
        plan.service_plan_name.upper().startswith("EXCHANGE_S_")
        and plan.service_plan_name.upper() != NOT_A_MAILBOX_PLAN
        for plan in subscription.service_status
    )


def exchange_licenses(subscriptions: list[CompanySubscription]) -> Licenses:
    paid = trial = 0
    for subscription in subscriptions:
        if subscription.status not in WORKING_STATUSES or not _gives_a_mailbox(subscription):
            continue
        if subscription.is_trial:
            trial += subscription.total_licenses
        else:
            paid += subscription.total_licenses
    return Licenses(exchange_licenses=paid, trial_only=paid == 0 and trial > 0)


def external_recipient_limit(licenses: int | None, trial_only: bool | None) -> int | None:
    """External recipients per rolling 24 hours; None when the licenses are not known."""
    if licenses is None or trial_only is None:
        return None
    if trial_only:
        return TRIAL_TENANT_LIMIT
    return int(500 * licenses**0.7 + 9_500)
