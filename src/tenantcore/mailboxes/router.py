"""`/v1/tenants/{tenant_id}/mailboxes` (seed): list, provision, update, usage; beyond the seed:
get one, delete, usage history, the CSV export."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query, Response

from tenantcore.accounts.errors import AUTH_ERRORS, WRITE_AUTH_ERRORS
from tenantcore.core.dayrange import FromDay, InvalidDateRange, ToDay
from tenantcore.core.deps import (
    ContextDep,
    PrincipalDep,
    ReaderDep,
    ReadPrincipalDep,
    ReadSessionDep,
    SessionDep,
)
from tenantcore.core.errors import InvalidRequest, ServiceUnavailable, responses
from tenantcore.core.pagination import InvalidCursor, PageCursor, PageLimit
from tenantcore.domains.errors import DomainNotFound, MicrosoftAccessDenied
from tenantcore.enforcement.errors import InvalidSendLimit
from tenantcore.mailboxes import batch, export, reads, removal, service, updates
from tenantcore.mailboxes.errors import (
    DomainNotVerified,
    DuplicateEmail,
    InvalidDisplayName,
    InvalidEmail,
    MailboxLimitReached,
    MailboxNotFound,
    MailboxNotReady,
    MailboxProvisioning,
    NoUpdates,
    WeakPassword,
)
from tenantcore.mailboxes.schemas import (
    BatchProvisionRequest,
    BatchProvisionResponse,
    MailboxList,
    MailboxOut,
    MailboxUpdate,
    ProvisionRequest,
    ProvisionResponse,
    UpdateResponse,
    UsageHistory,
    UsageOut,
)
from tenantcore.tenants.errors import ExchangeBootstrapNotReady, TenantNotFound

router = APIRouter(prefix="/v1/tenants/{tenant_id}/mailboxes", tags=["Mailboxes"])


@router.get(
    "",
    response_model=None,
    responses={
        200: {"model": MailboxList},
        **responses(*AUTH_ERRORS, InvalidRequest, InvalidCursor, TenantNotFound, DomainNotFound),
    },
)
async def list_mailboxes(
    tenant_id: str,
    reader: ReaderDep,
    domain: Annotated[
        str | None, Query(description="Only this domain's mailboxes (beyond the seed).")
    ] = None,
    status: Annotated[
        str | None,
        Query(description="Only mailboxes in this status: provisioning, ready or failed."),
    ] = None,
    blocked: Annotated[
        bool | None,
        Query(
            description="Beyond the seed: only mailboxes blocked today (`true`: `blocked_at` "
            "set) or only those not blocked (`false`)."
        ),
    ] = None,
    limit: PageLimit = None,
    cursor: PageCursor = None,
) -> Response:
    """All mailboxes across all domains on the tenant, by domain and address (with `limit`,
    a page of them)."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.mailbox_list(
            connection,
            principal,
            tenant_id,
            today,
            domain=domain,
            status=status,
            blocked=blocked,
            limit=limit,
            cursor=cursor,
        )
    )
    return Response(body, media_type="application/json")


@router.get(
    "/export",
    response_model=None,
    responses={
        200: {
            "content": {"text/csv": {"schema": {"type": "string"}}},
            "description": "One row per mailbox: " + ", ".join(export.COLUMNS) + ".",
        },
        **responses(*AUTH_ERRORS, InvalidRequest, TenantNotFound, DomainNotFound),
    },
)
async def export_mailboxes(
    tenant_id: str,
    reader: ReaderDep,
    domain: Annotated[str | None, Query(description="Only this domain's mailboxes.")] = None,
    status: Annotated[
        str | None,
        Query(description="Only mailboxes in this status: provisioning, ready or failed."),
    ] = None,
) -> Response:
    """Beyond the seed: the mailboxes as a CSV file for a sending tool's bulk import, with the
    SMTP server to log in to and today's cap as `daily_limit`. TenantCore never holds the
    passwords: fill the `password` column before importing."""
    context = reader.context
    microsoft = context.settings.microsoft
    today = context.now().date()
    tenant_guid, text = await reader.run(
        lambda connection, principal: export.export_csv(
            connection,
            principal,
            tenant_id,
            today=today,
            smtp_host=microsoft.smtp_host,
            smtp_port=microsoft.smtp_port,
            domain=domain,
            status=status,
        )
    )
    filename = f"mailboxes-{tenant_guid}-{today.isoformat()}.csv"
    return Response(
        text,
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )


@router.get(
    "/{mailbox_id}",
    response_model=None,
    responses={
        200: {"model": MailboxOut},
        **responses(*AUTH_ERRORS, TenantNotFound, MailboxNotFound),
    },
)
async def get_mailbox(tenant_id: str, mailbox_id: str, reader: ReaderDep) -> Response:
    """One mailbox, as the list shows it (beyond the seed): poll it after provisioning to see
    it turn `ready` without listing the tenant's every mailbox."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.one_mailbox(
            connection, principal, tenant_id, mailbox_id, today
        )
    )
    return Response(body, media_type="application/json")


@router.post(
    "",
    responses=responses(
        *WRITE_AUTH_ERRORS,
        InvalidRequest,
        MailboxLimitReached,
        InvalidEmail,
        DuplicateEmail,
        WeakPassword,
        InvalidDisplayName,
        DomainNotVerified,
        TenantNotFound,
        DomainNotFound,
        ExchangeBootstrapNotReady,
    ),
)
async def provision_mailboxes(
    tenant_id: str,
    body: ProvisionRequest,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> ProvisionResponse:
    """Create up to 3 shared mailboxes per verified domain (counting existing ones).

    Answers at once: `created` mailboxes are stored with `status` `provisioning` while
    Exchange creates them, sets the password, enables SMTP AUTH and propagates them (2-5
    minutes); list mailboxes shows them turn `ready` (or `failed`, with `error`). An address
    already on the tenant is `exists` (no action), so repeating a request is safe; asking
    again for a `failed` mailbox retries it. New mailboxes beyond the domain's free slots are
    `failed` with `mailbox_limit_reached`; when none of the request could be honoured the
    whole request is 400 `mailbox_limit_reached`."""
    return await service.provision(context, session, principal, tenant_id, body)


@router.post(
    "/batch",
    responses=responses(
        *WRITE_AUTH_ERRORS,
        InvalidRequest,
        WeakPassword,
        TenantNotFound,
        ExchangeBootstrapNotReady,
    ),
)
async def provision_mailboxes_on_many_domains(
    tenant_id: str,
    body: BatchProvisionRequest,
    principal: PrincipalDep,
    session: SessionDep,
    context: ContextDep,
) -> BatchProvisionResponse:
    """Beyond the seed: mailboxes on up to 50 domains in one request, each domain's exactly
    as a provisioning request for it would make them, one password for all. A result per
    mailbox, domain by domain in the order sent; a domain that cannot take its mailboxes
    fails them with the code the single request would answer (`domain_not_verified`, ...)
    and the others go on."""
    return await batch.provision_many(context, session, principal, tenant_id, body)


@router.patch(
    "/{mailbox_id}",
    responses=responses(
        *WRITE_AUTH_ERRORS,
        InvalidSendLimit,
        NoUpdates,
        InvalidDisplayName,
        InvalidRequest,
        WeakPassword,
        TenantNotFound,
        MailboxNotFound,
        MailboxNotReady,
        MicrosoftAccessDenied,
        ServiceUnavailable,
    ),
)
async def update_mailbox(
    tenant_id: str,
    mailbox_id: str,
    body: MailboxUpdate,
    principal: ReadPrincipalDep,
    session: ReadSessionDep,
    context: ContextDep,
) -> UpdateResponse:
    """Update the display name (applied in Exchange with Set-Mailbox before the answer), the
    daily send limit (stored; enforced in Exchange where a mailbox-limits policy covers the
    domain, re-provisioned in the background) and/or, beyond the seed, the mailbox's SMTP AUTH
    switch (`smtp_auth_enabled`, applied with Set-CASMailbox) and the account's password
    (`account_password`, set through Graph), both before the answer and for a ready mailbox
    only."""
    return await updates.update(context, session, principal, tenant_id, mailbox_id, body)


@router.delete(
    "/{mailbox_id}",
    status_code=204,
    responses=responses(
        *WRITE_AUTH_ERRORS,
        TenantNotFound,
        MailboxNotFound,
        MailboxProvisioning,
        MicrosoftAccessDenied,
        ServiceUnavailable,
    ),
)
async def delete_mailbox(
    tenant_id: str, mailbox_id: str, principal: ReadPrincipalDep, context: ContextDep
) -> Response:
    """Remove the mailbox from Exchange (with its Microsoft 365 account; Microsoft keeps both
    restorable for 30 days) and forget it, freeing its slot on the domain. Enforcement events
    stay. A mailbox still `provisioning` is refused (409); a 503 or 403 means Microsoft did
    not remove it and nothing changed."""
    await removal.delete(context, principal, tenant_id, mailbox_id)
    return Response(status_code=204)


@router.get(
    "/{mailbox_id}/usage",
    response_model=None,
    responses={
        200: {"model": UsageOut},
        **responses(*AUTH_ERRORS, TenantNotFound, MailboxNotFound),
    },
)
async def mailbox_usage(tenant_id: str, mailbox_id: str, reader: ReaderDep) -> Response:
    """Today's (UTC) send count, the cap that applies, and block state."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.mailbox_usage(
            connection, principal, tenant_id, mailbox_id, today
        )
    )
    return Response(body, media_type="application/json")


@router.get(
    "/{mailbox_id}/usage/history",
    response_model=None,
    responses={
        200: {"model": UsageHistory},
        **responses(*AUTH_ERRORS, InvalidDateRange, TenantNotFound, MailboxNotFound),
    },
)
async def mailbox_usage_history(
    tenant_id: str,
    mailbox_id: str,
    reader: ReaderDep,
    first: FromDay = None,
    last: ToDay = None,
) -> Response:
    """Sends per UTC day, with the cap Exchange enforced and any block, over at most 366 days.
    Finished days are kept when the counters reset at midnight and settled once message
    trace has caught up (`state`)."""
    today = reader.context.now().date().isoformat()
    body = await reader.run(
        lambda connection, principal: reads.mailbox_usage_history(
            connection, principal, tenant_id, mailbox_id, first=first, last=last, today=today
        )
    )
    return Response(body, media_type="application/json")
