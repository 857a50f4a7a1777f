"""`/servicePrincipals(appId='{appId}')`: an application's service principal in the tenant,
which exists once the application is consented there. Its `id` (the object id) is what
Exchange's `New-ServicePrincipal -ObjectId` takes (sandbox/exchange/permissions.py).

Graph v1.0 reads it with `Application.Read.All` or a directory-wide read permission.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tenantcore.sandbox.graph.common import METADATA, GraphError, GraphResponse
from tenantcore.sandbox.graph.dispatch import Endpoint
from tenantcore.sandbox.tokens import service_principal_id

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext

PATH = "/servicePrincipals(appId='{app_id}')"
READ_ROLES = frozenset(
    {
        "Application.Read.All",
        "Application.ReadWrite.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)


async def get_by_app_id(ctx: GraphContext) -> GraphResponse:
    app_id = ctx.params["app_id"].strip().lower()
    row = ctx.sb.store.one(
        "SELECT a.client_id, a.display_name FROM consent c JOIN app a"
        " ON a.client_id = c.client_id WHERE c.tenant_id = ? AND lower(c.client_id) = ?",
        (ctx.tenant_id, app_id),
    )
    if row is None:
        raise GraphError(
            404,
            "Request_ResourceNotFound",
            f"Resource '{ctx.params['app_id']}' does not exist or one of its queried reference-"
            "property objects are not present.",
        )
    return GraphResponse(
        200,
        {
            "@odata.context": f"{METADATA}servicePrincipals/$entity",
            "id": service_principal_id(ctx.tenant_id, str(row["client_id"])),
            "appId": row["client_id"],
            "displayName": row["display_name"],
            "servicePrincipalType": "Application",
            "accountEnabled": True,
        },
    )


def endpoints() -> list[Endpoint]:
    return [Endpoint("GET", PATH, get_by_app_id, READ_ROLES)]
