"""graph.microsoft.com/v1.0: users, domains, `$batch`, message traces (wire reference 2), the
security-defaults and Conditional Access policies and the tenant's subscriptions.

All calls, direct or inside `$batch`, go through one `Dispatcher` (see `dispatch.py`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING
from urllib.parse import parse_qsl

from starlette.responses import Response
from starlette.routing import Route

from tenantcore.sandbox.graph import (
    batch,
    domains,
    policies,
    service_principals,
    subscriptions,
    traces,
    users,
)
from tenantcore.sandbox.graph.common import GraphRequest, GraphResponse, standard_headers
from tenantcore.sandbox.graph.dispatch import Dispatcher

if TYPE_CHECKING:
    from starlette.requests import Request

    from tenantcore.sandbox.context import Sandbox


def build_dispatcher(sb: Sandbox) -> Dispatcher:
    return Dispatcher(
        sb,
        [
            *users.endpoints(),
            *domains.endpoints(),
            *traces.endpoints(),
            *policies.endpoints(),
            *subscriptions.endpoints(),
            *service_principals.endpoints(),
            *batch.endpoints(),
        ],
    )


def _http_response(request: GraphRequest, response: GraphResponse) -> Response:
    content = b""
    if response.text is not None:
        content = response.text.encode()
    elif response.body is not None:
        content = json.dumps(response.body, separators=(",", ":"), ensure_ascii=False).encode()
    return Response(
        content=content,
        status_code=response.status,
        headers=standard_headers(request, response),
    )


def routes(sb: Sandbox) -> list[Route]:
    dispatcher = build_dispatcher(sb)

    async def endpoint(request: Request) -> Response:
        graph_request = GraphRequest(
            method=request.method,
            path="/" + request.path_params["path"],
            query=parse_qsl(request.url.query, keep_blank_values=True),
            headers=dict(request.headers),
            body=await request.body(),
            base_url=f"{request.url.scheme}://{request.url.netloc}",
        )
        return _http_response(graph_request, await dispatcher.dispatch(graph_request))

    return [
        Route(
            "/v1.0/{path:path}",
            endpoint,
            methods=["GET", "POST", "PATCH", "PUT", "DELETE"],
        )
    ]
