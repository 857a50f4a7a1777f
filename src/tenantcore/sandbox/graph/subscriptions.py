"""`/directory/subscriptions`: the tenant's commercial subscriptions (`companySubscription`),
whose Exchange licenses set its external recipient rate limit (sandbox/licensing.py).

Graph v1.0 lists them with `Organization.Read.All` (least privileged) or a directory-wide
read permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantcore.sandbox.graph.common import METADATA, GraphResponse
from tenantcore.sandbox.graph.dispatch import Endpoint
from tenantcore.sandbox.licensing import graph_subscriptions

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext

PATH = "/directory/subscriptions"
READ_ROLES = frozenset(
    {
        "Organization.Read.All",
        "Organization.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)


async def list_subscriptions(ctx: GraphContext) -> GraphResponse:
    """One page: a tenant has a handful of subscriptions."""
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}directory/subscriptions",
            "value": graph_subscriptions(ctx.sb, ctx.tenant_id),
        },
    )


def endpoints() -> list[Endpoint]:
    return [Endpoint("GET", PATH, list_subscriptions, READ_ROLES)]
