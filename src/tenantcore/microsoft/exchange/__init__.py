"""The Exchange Online admin client (InvokeCommand), one typed method per cmdlet we use."""

from __future__ import annotations

from tenantcore.microsoft.exchange.dkim import DkimOps
from tenantcore.microsoft.exchange.groups import GroupOps
from tenantcore.microsoft.exchange.mailboxes import MailboxOps, mailbox_name_for
from tenantcore.microsoft.exchange.organization import OrganizationOps
from tenantcore.microsoft.exchange.permissions import PermissionOps
from tenantcore.microsoft.exchange.policies import PolicyOps
from tenantcore.microsoft.exchange.trace import TraceOps
from tenantcore.microsoft.exchange.transport import InvokeResult


class ExchangeClient(
    OrganizationOps, MailboxOps, GroupOps, PolicyOps, TraceOps, DkimOps, PermissionOps
):
    """All Exchange operations; the transport underneath is shared."""


__all__ = ["ExchangeClient", "InvokeResult", "mailbox_name_for"]
