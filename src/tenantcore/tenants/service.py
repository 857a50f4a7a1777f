"""Connecting, listing and disconnecting tenants (DESIGN.md section 4, "Connect tenant").

In sandbox mode connecting creates (or attaches to) the sandbox tenant and consent is
immediate; in live mode it returns Microsoft's admin-consent URL and completes on the callback.
Discovery and the Exchange bootstrap then run in the background (`tenants.bootstrap`).
"""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import urlencode

import structlog
from sqlalchemy import Row
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncSession

from tenantcore.accounts.service import Principal
from tenantcore.core.context import AppContext
from tenantcore.core.db import unit_of_work
from tenantcore.core.errors import ServiceUnavailable, microsoft_unavailable
from tenantcore.core.pagination import InvalidCursor, cut, decode_cursor, fetch_size
from tenantcore.enforcement import exchange_sync
from tenantcore.enforcement import repository as enforcement_repository
from tenantcore.microsoft.errors import AuthenticationFailed, Forbidden, MicrosoftError
from tenantcore.tenants import repository
from tenantcore.tenants.errors import (
    ConsentFailed,
    InvalidTenantId,
    TenantAlreadyConnected,
    TenantNotFound,
)
from tenantcore.tenants.models import BootstrapStatus, Tenant, TenantStatus
from tenantcore.tenants.schemas import TenantOut
from tenantcore.tenants.sending_limit import external_recipient_limit

log = structlog.get_logger(__name__)


def normalise_guid(value: str) -> str:
    try:
        return str(uuid.UUID(value.strip()))
    except (ValueError, AttributeError):
        raise InvalidTenantId from None


_TENANTS_CURSOR = "tenants"


def path_guid(tenant_id: str) -> str:
    """A tenant id from a path: not a GUID names no tenant."""
    try:
        return str(uuid.UUID(tenant_id))
    except ValueError:
        raise TenantNotFound from None


async def require_tenant(session: AsyncSession, principal: Principal, tenant_id: str) -> Tenant:
    """The caller's tenant, or `tenant_not_found` (another account's looks exactly missing)."""
    tenant = await repository.owned(session, principal.account_id, path_guid(tenant_id))
    if tenant is None:
        raise TenantNotFound
    return tenant


async def list_tenants(
    session: AsyncSession, principal: Principal, *, limit: int | None, cursor: str | None
) -> tuple[Sequence[Tenant], str | None]:
    """A page of the account's tenants, newest connection first, and the next page's cursor."""
    after = decode_cursor(_TENANTS_CURSOR, cursor, 2)
    position = None
    if after is not None:
        try:
            position = (datetime.fromisoformat(after[0]), after[1])
        except ValueError as exc:
            raise InvalidCursor from exc
    fetched = await repository.list_owned(
        session, principal.account_id, after=position, limit=fetch_size(limit)
    )
    return cut(
        fetched, limit, _TENANTS_CURSOR, lambda tenant: (tenant.created_at.isoformat(), tenant.id)
    )


def require_tenant_row(
    connection: Connection, principal: Principal, tenant_id: str
) -> Row[str, str, str | None]:
    """`require_tenant` on a read connection: (id, tenant_id, tenant_name)."""
    row = repository.owned_row_on(connection, principal.account_id, path_guid(tenant_id))
    if row is None:
        raise TenantNotFound
    return row


def admin_consent_url(context: AppContext, tenant: Tenant) -> str:
    settings = context.settings
    query = urlencode(
        {
            "client_id": settings.microsoft.client_id,
            "state": tenant.consent_state or "",
            "redirect_uri": f"{settings.public_base_url.rstrip('/')}/v1/tenants/consent/callback",
        }
    )
    return (
        f"{settings.microsoft.login_base_url.rstrip('/')}/{tenant.tenant_id}/adminconsent?{query}"
    )


def _mark_consented(context: AppContext, tenant: Tenant) -> None:
    tenant.status = TenantStatus.CONNECTED
    tenant.consent_state = None
    tenant.consented_at = context.now()
    _restart_bootstrap(context, tenant)


def _restart_bootstrap(context: AppContext, tenant: Tenant) -> None:
    """The Exchange bootstrap from its first step, with a fresh `bootstrap_timeout_seconds`."""
    now = context.now()
    tenant.bootstrap_started_at = now
    tenant.exchange_bootstrap_status = BootstrapStatus.PENDING
    tenant.bootstrap_error = None
    tenant.next_attempt_at = now


async def connect(
    context: AppContext, session: AsyncSession, principal: Principal, tenant_id: str
) -> tuple[Tenant, bool]:
    """Connect a tenant to the caller's account; (tenant, created). Safe to repeat; repeating
    it for a tenant whose Exchange bootstrap failed starts the bootstrap again (once the cause,
    say a missing role, is fixed), keeping the tenant's domains and mailboxes."""
    guid = normalise_guid(tenant_id)
    existing = await repository.by_guid(session, guid)
    if existing is not None:
        if existing.account_id != principal.account_id:
            raise TenantAlreadyConnected
        if (
            existing.status == TenantStatus.CONNECTED
            and existing.exchange_bootstrap_status == BootstrapStatus.FAILED
        ):
            _restart_bootstrap(context, existing)
            context.jobs.nudge_tenant_after_commit(session, existing.id)
        return existing, False
    tenant = Tenant(account_id=principal.account_id, tenant_id=guid, created_at=context.now())
    if context.sandbox is not None:
        secret = context.settings.microsoft.client_secret
        try:
            attached = await context.sandbox.attach_tenant(
                guid,
                client_id=context.settings.microsoft.client_id,
                client_secret=secret.get_secret_value() if secret else "",
                display_name=f"Sandbox tenant {guid[:8]}",
            )
        except MicrosoftError as exc:
            raise ServiceUnavailable(f"The sandbox did not accept the tenant: {exc}") from exc
        tenant.tenant_domain = str(attached.get("initial_domain") or "") or None
        _mark_consented(context, tenant)
    else:
        tenant.status = TenantStatus.PENDING_CONSENT
        tenant.consent_state = secrets.token_urlsafe(32)
    session.add(tenant)
    await session.flush()
    context.jobs.nudge_tenant_after_commit(session, tenant.id)
    return tenant, True


async def complete_consent(
    context: AppContext,
    session: AsyncSession,
    *,
    state: str,
    tenant_id: str | None,
    admin_consent: str | None,
    error: str | None,
) -> Tenant:
    """The admin-consent redirect (live mode): `state` names the pending tenant."""
    tenant = await repository.by_consent_state(session, state)
    if tenant is None or tenant.status != TenantStatus.PENDING_CONSENT:
        raise TenantNotFound("No tenant is waiting for this consent.")
    if error or (admin_consent or "").lower() != "true":
        raise ConsentFailed(f"Admin consent was not granted: {error or 'declined'}.")
    if tenant_id is not None and normalise_guid(tenant_id) != tenant.tenant_id:
        raise ConsentFailed("Consent was granted for a different tenant than requested.")
    _mark_consented(context, tenant)
    context.jobs.nudge_tenant_after_commit(session, tenant.id)
    return tenant


async def disconnect(context: AppContext, principal: Principal, tenant_id: str) -> None:
    """Forget the tenant and everything TenantCore stored for it, after taking TenantCore's
    enforcement out of its Exchange: nobody would lift a block or change a cap any more, so a
    mailbox blocked now would stay blocked for good. The customer's mailboxes, users and domains
    stay. Runs under the tenant's lock, so no worker re-creates what was just removed."""
    async with unit_of_work(context.sessionmaker, read_only=True) as session:
        tenant = await require_tenant(session, principal, tenant_id)
    async with context.tenant_exclusive(tenant.id):
        # Read under the lock: a policy saved a moment ago is withdrawn too.
        async with unit_of_work(context.sessionmaker, read_only=True) as session:
            policies = await enforcement_repository.policies_of(session, tenant.id)
        scopes = [policy.scope_key for policy in policies]
        if scopes and tenant.exchange_bootstrap_status == BootstrapStatus.READY:
            await _withdraw_enforcement(context, tenant, scopes)
        async with unit_of_work(context.sessionmaker) as session:
            row = await session.get(Tenant, tenant.id)
            if row is not None:
                await session.delete(row)


async def _withdraw_enforcement(context: AppContext, tenant: Tenant, scopes: list[str]) -> None:
    switches = [exchange_sync.switch_for(scope, tenant.tenant_domain or "") for scope in scopes]
    try:
        await exchange_sync.withdraw(context.connector, tenant.tenant_id, switches)
    except (AuthenticationFailed, Forbidden) as exc:
        # Access revoked: nothing can be removed, and refusing would leave the customer unable
        # ever to disconnect. Their admin removes the objects (docs/operations.md).
        log.warning(
            "enforcement left in Exchange: access refused",
            tenant_id=tenant.tenant_id,
            error=str(exc),
        )
    except MicrosoftError as exc:
        # Part may be gone already. The tenant stays connected, so its enforcement is put back
        # whole by the worker unless the caller repeats the disconnect first.
        async with unit_of_work(context.sessionmaker) as session:
            await enforcement_repository.mark_pending(session, tenant.id)
            context.jobs.nudge_tenant_after_commit(session, tenant.id)
        raise microsoft_unavailable(exc) from exc


async def describe(
    context: AppContext, session: AsyncSession, tenants: list[Tenant]
) -> list[TenantOut]:
    counts = await repository.counts(session, [t.id for t in tenants])
    return [
        TenantOut(
            id=t.id,
            tenant_id=t.tenant_id,
            tenant_name=t.tenant_name,
            tenant_domain=t.tenant_domain,
            default_domain=t.default_domain,
            domain_count=counts[t.id][0],
            mailbox_count=counts[t.id][1],
            status=t.status,
            discovery_completed=t.discovery_completed,
            exchange_bootstrap_status=t.exchange_bootstrap_status,
            bootstrap_error=t.bootstrap_error,
            consented_at=t.consented_at,
            last_sync_at=t.last_sync_at,
            created_at=t.created_at,
            smtp_auth_enabled=t.smtp_auth_enabled,
            security_defaults_enabled=t.security_defaults_enabled,
            legacy_auth_blocked_by=t.legacy_auth_blocked_by,
            smtp_auth_checked_at=t.smtp_auth_checked_at,
            exchange_licenses=t.exchange_licenses,
            trial_only=t.trial_only,
            external_recipient_limit=external_recipient_limit(t.exchange_licenses, t.trial_only),
            sending_app_status=t.sending_app_status,
            admin_consent_url=(
                admin_consent_url(context, t) if t.status == TenantStatus.PENDING_CONSENT else None
            ),
        )
        for t in tenants
    ]
