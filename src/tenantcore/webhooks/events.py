"""The events TenantCore sends to webhooks, built from what records them: `data` of each type,
in the shapes the API already uses for the same things."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tenantcore.core.base import new_id
from tenantcore.domains.models import Domain
from tenantcore.enforcement.models import EnforcementAction, EnforcementEvent
from tenantcore.mailboxes.models import Mailbox, MailboxStatus
from tenantcore.tenants.models import BootstrapStatus, Tenant
from tenantcore.webhooks.models import EventType
from tenantcore.webhooks.service import Outbox

_ENFORCEMENT_TYPES = {
    EnforcementAction.BLOCKED: EventType.MAILBOX_BLOCKED,
    EnforcementAction.UNBLOCKED: EventType.MAILBOX_UNBLOCKED,
}
_BOOTSTRAP_TYPES = {
    BootstrapStatus.READY: EventType.TENANT_BOOTSTRAP_COMPLETED,
    BootstrapStatus.FAILED: EventType.TENANT_BOOTSTRAP_FAILED,
}
_MAILBOX_TYPES = {
    MailboxStatus.READY: EventType.MAILBOX_READY,
    MailboxStatus.FAILED: EventType.MAILBOX_FAILED,
}


async def bootstrap_settled(outbox: Outbox, tenant: Tenant, now: datetime) -> None:
    """The tenant's Exchange bootstrap ended: `ready` (mailboxes can be provisioned), or
    `failed` with its `bootstrap_error`."""
    await outbox.add(
        _BOOTSTRAP_TYPES[BootstrapStatus(tenant.exchange_bootstrap_status)],
        {
            "tenant_id": tenant.tenant_id,
            "tenant_name": tenant.tenant_name,
            "tenant_domain": tenant.tenant_domain,
            "exchange_bootstrap_status": tenant.exchange_bootstrap_status,
            "bootstrap_error": tenant.bootstrap_error,
        },
        event_id=new_id(),
        created_at=now,
    )


async def enforcement_event(outbox: Outbox, event: EnforcementEvent, tenant_guid: str) -> None:
    """A block or unblock, as `GET /v1/enforcement/events` shows it (the same `id`)."""
    data: dict[str, Any] = {
        "id": event.id,
        "tenant_id": tenant_guid,
        "mailbox_id": event.mailbox_pk,
        "mailbox_address": event.mailbox_address,
        "action_taken": event.action,
        "sent_count": event.sent_count,
        "limit_value": event.limit_value,
        "message": event.message,
        "created_at": event.created_at,
        "occurred_at": event.occurred_at,
    }
    event_type = _ENFORCEMENT_TYPES[EnforcementAction(event.action)]
    await outbox.add(event_type, data, event_id=event.id, created_at=event.created_at)


async def mailbox_settled(
    outbox: Outbox, mailbox: Mailbox, tenant_guid: str, now: datetime
) -> None:
    """A mailbox's provisioning ended: `ready`, or `failed` with its `error`."""
    event_type = _MAILBOX_TYPES[MailboxStatus(mailbox.status)]
    await outbox.add(
        event_type,
        _mailbox_data(mailbox, tenant_guid)
        | {"ready_at": mailbox.ready_at, "error": mailbox.error},
        event_id=new_id(),
        created_at=now,
    )


async def smtp_auth_disabled(
    outbox: Outbox, mailbox: Mailbox, tenant_guid: str, now: datetime, *, reason: str
) -> None:
    """A ready mailbox's SMTP AUTH logins were found refused (tenants/smtp_auth.py), and why:
    `security_defaults`, `conditional_access`, `mailbox_switch` or `tenant_switch`."""
    await outbox.add(
        EventType.MAILBOX_SMTP_AUTH_DISABLED,
        _mailbox_data(mailbox, tenant_guid) | {"checked_at": now, "reason": reason},
        event_id=new_id(),
        created_at=now,
    )


async def mailbox_deleted(
    outbox: Outbox, mailbox: Mailbox, tenant_guid: str, now: datetime
) -> None:
    """A mailbox was deleted through the API: gone from Exchange (Microsoft keeps it restorable
    for 30 days) and from TenantCore, its slot on the domain free."""
    await outbox.add(
        EventType.MAILBOX_DELETED,
        _mailbox_data(mailbox, tenant_guid)
        | {"domain_name": mailbox.primary_smtp.rpartition("@")[2], "deleted_at": now},
        event_id=new_id(),
        created_at=now,
    )


async def sending_app_settled(outbox: Outbox, tenant: Tenant, now: datetime) -> None:
    """The tenant's sending app was registered in Exchange and given every ready mailbox
    (`ready`), or could not be registered (`failed`, with its `error`); as
    `GET …/sending-app` shows it, without the mailbox counts."""
    event_type = (
        EventType.TENANT_SENDING_APP_READY
        if tenant.sending_app_status == "ready"
        else EventType.TENANT_SENDING_APP_FAILED
    )
    await outbox.add(
        event_type,
        {
            "tenant_id": tenant.tenant_id,
            "app_id": tenant.sending_app_id,
            "status": tenant.sending_app_status,
            "service_principal_id": tenant.sending_app_object_id,
            "error": tenant.sending_app_error,
        },
        event_id=new_id(),
        created_at=now,
    )


async def capacity_exceeds_limit(
    outbox: Outbox, tenant: Tenant, capacity: int, limit: int, now: datetime
) -> None:
    """The caps of the tenant's ready mailboxes add up to more than its estimated external
    recipient rate limit (tenants/sending_limit.py): its mail may be refused tenant-wide before
    any mailbox reaches its own cap. Sent when a check first finds it so."""
    await outbox.add(
        EventType.TENANT_CAPACITY_EXCEEDS_LIMIT,
        {
            "tenant_id": tenant.tenant_id,
            "capacity_today": capacity,
            "external_recipient_limit": limit,
            "exchange_licenses": tenant.exchange_licenses,
            "trial_only": tenant.trial_only,
            "checked_at": now,
        },
        event_id=new_id(),
        created_at=now,
    )


async def dns_health_changed(
    outbox: Outbox,
    domain: Domain,
    tenant_guid: str,
    previous: dict[str, str],
    now: datetime,
) -> None:
    """A DNS check of a domain judged one of SPF, DKIM, DMARC or MX differently from the check
    before it (a record removed or fixed at the DNS host, say): both verdicts, by record."""
    await outbox.add(
        EventType.DOMAIN_DNS_HEALTH_CHANGED,
        {
            "tenant_id": tenant_guid,
            "domain_id": domain.id,
            "domain_name": domain.domain_name,
            "is_verified": domain.is_verified,
            "previous": previous,
            "current": health_verdicts(domain),
            "last_checked": domain.last_checked,
        },
        event_id=new_id(),
        created_at=now,
    )


async def domain_verified(outbox: Outbox, domain: Domain, tenant_guid: str, now: datetime) -> None:
    """Microsoft 365 verified the domain (through `POST …/verify`, or the background re-check
    once its ownership record resolved): mailboxes can now be provisioned on it."""
    await outbox.add(
        EventType.DOMAIN_VERIFIED,
        {
            "tenant_id": tenant_guid,
            "domain_id": domain.id,
            "domain_name": domain.domain_name,
            "is_default": domain.is_default,
            "email_enabled": domain.email_enabled,
            "verified_at": now,
        },
        event_id=new_id(),
        created_at=now,
    )


def health_verdicts(domain: Domain) -> dict[str, str]:
    """A domain's DNS health verdicts by record: spf, dkim, dmarc, mx."""
    return {
        "spf": domain.spf_status,
        "dkim": domain.dkim_status,
        "dmarc": domain.dmarc_status,
        "mx": domain.mx_status,
    }


def _mailbox_data(mailbox: Mailbox, tenant_guid: str) -> dict[str, Any]:
    return {
        "tenant_id": tenant_guid,
        "mailbox_id": mailbox.id,
        "primary_smtp": mailbox.primary_smtp,
        "status": mailbox.status,
    }
