"""A tenant's commercial subscriptions and the tenant external recipient rate limit (TERRL)
they imply (wire reference 5).

Exchange Online caps how many external recipients a whole tenant may send to in a rolling
24 hours: 500 * (non-trial Exchange licenses ^ 0.7) + 9,500, or 5,000 for a tenant with only
trial subscriptions. Shared mailboxes add no licenses, so a tenant of many sending mailboxes
reaches this limit long before any mailbox's own. Past it Exchange refuses mail to external
recipients with `550 5.7.233` (`5.7.232` on a trial tenant); the sandbox refuses it at the end
of DATA, like its other policy refusals.

Subscriptions live on the tenant row as a JSON list in the control API's shape
(`control_models.SubscriptionIn`); Graph reads them as `companySubscription` objects.
"""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.timeutil import iso

if TYPE_CHECKING:
    from datetime import datetime

    from tenantcore.sandbox.context import Sandbox

# Exchange Online (Plan 1), one seat: what a tenant bought to get going with shared mailboxes.
DEFAULT_SUBSCRIPTIONS: tuple[dict[str, Any], ...] = (
    {
        "skuId": "4b9405b0-7788-4568-add1-99614e613b69",
        "skuPartNumber": "EXCHANGESTANDARD",
        "isTrial": False,
        "status": "Enabled",
        "totalLicenses": 1,
        "servicePlans": ["EXCHANGE_S_STANDARD"],
    },
)
# Service plans that give a mailbox. EXCHANGE_S_FOUNDATION comes with many products that have
# no mailbox (it only backs their data in Exchange) and is no Exchange license.
_NOT_A_MAILBOX_PLAN = "EXCHANGE_S_FOUNDATION"
# A subscription in Warning (its grace period) still works; Suspended, LockedOut and Deleted
# ones do not.
_WORKING = frozenset({"Enabled", "Warning"})
TRIAL_LIMIT = 5_000

_NAMESPACE = uuid.UUID("9f0b3c52-6a51-4c1e-8c57-3d4d7f9e0a11")
REPLY_TENANT_LIMIT = (
    "550 5.7.233 Your message can't be sent because your tenant exceeded its daily limit for"
    " sending email to external recipients (tenant external recipient rate limit)"
)
REPLY_TRIAL_TENANT_LIMIT = REPLY_TENANT_LIMIT.replace("5.7.233", "5.7.232", 1)


def is_exchange_plan(name: str) -> bool:
    return name.upper().startswith("EXCHANGE_S_") and name.upper() != _NOT_A_MAILBOX_PLAN


def stored_subscriptions(sb: Sandbox, tenant_id: str) -> list[dict[str, Any]]:
    row = sb.store.one("SELECT subscriptions FROM tenant WHERE id = ?", (tenant_id,))
    return [] if row is None else list(json.loads(row["subscriptions"]))


def graph_subscriptions(sb: Sandbox, tenant_id: str) -> list[dict[str, Any]]:
    """The tenant's subscriptions as Graph's `companySubscription` objects."""
    views = []
    for index, entry in enumerate(stored_subscriptions(sb, tenant_id)):
        key = f"{tenant_id}/{index}/{entry['skuPartNumber']}"
        views.append(
            {
                "id": str(uuid.uuid5(_NAMESPACE, key)),
                "commerceSubscriptionId": str(uuid.uuid5(_NAMESPACE, f"commerce/{key}")),
                "skuId": entry.get("skuId") or str(uuid.uuid5(_NAMESPACE, entry["skuPartNumber"])),
                "skuPartNumber": entry["skuPartNumber"],
                "isTrial": entry["isTrial"],
                "status": entry["status"],
                "totalLicenses": entry["totalLicenses"],
                "ownerType": None,
                "serviceStatus": [
                    {
                        "servicePlanId": str(uuid.uuid5(_NAMESPACE, f"plan/{plan}")),
                        "servicePlanName": plan,
                        "provisioningStatus": "Success",
                        "appliesTo": "User",
                    }
                    for plan in entry["servicePlans"]
                ],
            }
        )
    return views


def external_recipient_limit(subscriptions: list[dict[str, Any]]) -> tuple[int, bool]:
    """The tenant's TERRL and whether it is a trial tenant's (only trial Exchange licenses)."""
    paid = trial = 0
    for entry in subscriptions:
        if entry["status"] not in _WORKING:
            continue
        if not any(is_exchange_plan(plan) for plan in entry["servicePlans"]):
            continue
        if entry["isTrial"]:
            trial += entry["totalLicenses"]
        else:
            paid += entry["totalLicenses"]
    if paid == 0 and trial > 0:
        return TRIAL_LIMIT, True
    return int(500 * paid**0.7 + 9_500), False


def external_recipients_last_day(
    sb: Sandbox, tenant_id: str, internal_domains: set[str], now: datetime
) -> int:
    """External recipients the tenant's delivered mail went to in the rolling 24 hours."""
    marks = ",".join("?" * len(internal_domains))
    row = sb.store.one(
        "SELECT COUNT(*) AS n FROM trace WHERE tenant_id = ? AND status = 'Delivered'"  # noqa: S608
        " AND received > ? AND lower(substr(recipient_address,"
        f" instr(recipient_address, '@') + 1)) NOT IN ({marks})",
        (tenant_id, iso(now - timedelta(hours=24)), *sorted(internal_domains)),
    )
    return 0 if row is None else int(row["n"])


def tenant_limit_refusal(
    sb: Sandbox, tenant_id: str, internal_domains: set[str], external: int, now: datetime
) -> str | None:
    """The reply refusing a message to `external` external recipients when it would take the
    tenant past its limit; None when it fits."""
    if external == 0:
        return None
    limit, trial = external_recipient_limit(stored_subscriptions(sb, tenant_id))
    used = external_recipients_last_day(sb, tenant_id, internal_domains, now)
    if used + external <= limit:
        return None
    return REPLY_TRIAL_TENANT_LIMIT if trial else REPLY_TENANT_LIMIT
