"""outlook.office365.com/adminapi: the Exchange Online admin REST host (InvokeCommand)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from starlette.routing import Route

from tenantcore.sandbox.exchange import (
    blocked_senders,
    dkim,
    groups,
    mailbox_settings,
    mailboxes,
    message_trace,
    organization,
    permissions,
    spam_policies,
    spam_rules,
    transport_rules,
)
from tenantcore.sandbox.exchange.invoke import ExchangeHost
from tenantcore.sandbox.exchange.registry import Registry

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox


def build_registry() -> Registry:
    """Every cmdlet the emulator answers; anything else gets Exchange's 403."""
    return Registry(
        [
            *organization.CMDLETS,
            *mailboxes.CMDLETS,
            *mailbox_settings.CMDLETS,
            *groups.CMDLETS,
            *transport_rules.CMDLETS,
            *spam_policies.CMDLETS,
            *spam_rules.CMDLETS,
            *blocked_senders.CMDLETS,
            *message_trace.CMDLETS,
            *dkim.CMDLETS,
            *permissions.CMDLETS,
        ]
    )


def routes(sb: Sandbox) -> list[Route]:
    host = ExchangeHost(sb, build_registry())
    return [
        Route("/adminapi/beta/{tenant}/InvokeCommand", host.invoke, methods=["POST", "GET"]),
        Route("/adminapi/v1.0/{tenant}/InvokeCommand", host.wrong_version, methods=["POST", "GET"]),
    ]
