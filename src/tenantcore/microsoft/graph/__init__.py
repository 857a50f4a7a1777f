"""The Microsoft Graph client: users, domains, the security-defaults and Conditional Access
policies and the tenant's subscriptions, one typed method per call we make."""

from __future__ import annotations

from tenantcore.microsoft.graph.domains import DomainOps
from tenantcore.microsoft.graph.licensing import LicensingOps
from tenantcore.microsoft.graph.policies import PolicyOps
from tenantcore.microsoft.graph.users import UserOps


class GraphClient(UserOps, DomainOps, PolicyOps, LicensingOps):
    """All Graph operations over one shared transport."""


__all__ = ["GraphClient"]
