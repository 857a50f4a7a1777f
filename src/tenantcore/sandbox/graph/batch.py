"""`POST /$batch` (wire reference 2.9): up to 20 requests answered in one response.

Each item goes through the same dispatcher as a direct call, with the batch's token: it is
counted, may get an injected fault, is role-checked and write-throttled on its own (so a 429
appears per item). An item whose `dependsOn` item failed answers 424 without running.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, urlsplit

from tenantcore.sandbox.graph.common import (
    BATCH_ITEM_HEADERS,
    GraphError,
    GraphRequest,
    GraphResponse,
    error_response,
    standard_headers,
)
from tenantcore.sandbox.graph.dispatch import Endpoint

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.dispatch import GraphContext

MAX_REQUESTS = 20
_METHODS = frozenset({"GET", "POST", "PATCH", "PUT", "DELETE"})


def _invalid(message: str) -> GraphError:
    return GraphError(400, "BadRequest", message)


def _validated_items(body: dict[str, Any]) -> list[dict[str, Any]]:
    """The batch's requests, or a 400 for the whole batch when it is malformed."""
    items = body.get("requests")
    if not isinstance(items, list) or not items:
        raise _invalid("Invalid batch payload format.")
    if len(items) > MAX_REQUESTS:
        raise _invalid(f"Number of batch request steps exceeds the maximum of {MAX_REQUESTS}.")
    ids: list[str] = []
    for item in items:
        if not isinstance(item, dict):
            raise _invalid("Invalid batch payload format.")
        item_id, method, url = item.get("id"), item.get("method"), item.get("url")
        if not isinstance(item_id, str) or not item_id:
            raise _invalid("Invalid batch payload format: each request needs a string id.")
        if not isinstance(method, str) or method.upper() not in _METHODS:
            raise _invalid(f"Invalid batch payload format: request {item_id} has no valid method.")
        if not isinstance(url, str) or not url:
            raise _invalid(f"Invalid batch payload format: request {item_id} has no url.")
        if item.get("headers") is not None and not isinstance(item["headers"], dict):
            raise _invalid(f"Invalid batch payload format: headers of request {item_id}.")
        if item_id in ids:
            raise _invalid(f"Batch request contains more than one request with id '{item_id}'.")
        ids.append(item_id)
    for item in items:
        depends = item.get("dependsOn") or []
        if not isinstance(depends, list) or not all(isinstance(d, str) for d in depends):
            raise _invalid(f"Invalid batch payload format: dependsOn of request {item['id']}.")
        for dependency in depends:
            if dependency not in ids or dependency == item["id"]:
                raise _invalid(
                    f"Request {item['id']} depends on '{dependency}', which is not another"
                    " request of this batch."
                )
    return items


def _execution_order(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Request order, except that an item runs after everything it depends on."""
    done: set[str] = set()
    order: list[dict[str, Any]] = []
    pending = list(items)
    while pending:
        ready = [i for i in pending if set(i.get("dependsOn") or []) <= done]
        if not ready:
            raise _invalid("The dependsOn values of the batch requests form a cycle.")
        order.append(ready[0])
        done.add(ready[0]["id"])
        pending.remove(ready[0])
    return order


def _item_request(ctx: GraphContext, item: dict[str, Any]) -> GraphRequest:
    headers = {str(k): str(v) for k, v in (item.get("headers") or {}).items()}
    headers.setdefault("client-request-id", ctx.request.client_request_id)
    headers["authorization"] = ctx.request.header("authorization") or ""
    parts = urlsplit(str(item["url"]))
    body = b"" if item.get("body") is None else json.dumps(item["body"]).encode()
    return GraphRequest(
        method=str(item["method"]),
        path="/" + unquote(parts.path).lstrip("/"),
        query=parse_qsl(parts.query, keep_blank_values=True),
        headers=headers,
        body=body,
        base_url=ctx.request.base_url,
    )


async def _run_item(
    ctx: GraphContext, item: dict[str, Any], request: GraphRequest
) -> GraphResponse:
    url = str(item["url"])
    now = ctx.sb.now()
    if urlsplit(url).scheme or url.lstrip("/").lower().startswith("$batch"):
        error = _invalid(f"Invalid request URL '{url}' in batch request {item['id']}.")
        return error_response(request, now, error)
    if request.body and "content-type" not in request.headers:
        error = _invalid(
            f"Write request id : {item['id']} does not contain Content-Type header or body."
        )
        return error_response(request, now, error)
    return await ctx.dispatcher.dispatch(request, ctx.claims)


def _item_view(item_id: str, request: GraphRequest, response: GraphResponse) -> dict[str, Any]:
    headers = standard_headers(request, response)
    kept = {name: headers[name] for name in BATCH_ITEM_HEADERS if name in headers}
    body: Any = response.body if response.text is None else response.text
    return {"id": item_id, "status": response.status, "headers": kept, "body": body}


async def run_batch(ctx: GraphContext) -> GraphResponse:
    items = _validated_items(ctx.request.json())
    status: dict[str, int] = {}
    answers: dict[str, dict[str, Any]] = {}
    for item in _execution_order(items):
        item_id = item["id"]
        failed = [d for d in item.get("dependsOn") or [] if status[d] >= 400]
        request = _item_request(ctx, item)
        if failed:
            error = GraphError(
                424,
                "FailedDependency",
                f"The request could not be run because request '{failed[0]}', which it depends"
                " on, failed.",
            )
            response = error_response(request, ctx.sb.now(), error)
        else:
            response = await _run_item(ctx, item, request)
        status[item_id] = response.status
        answers[item_id] = _item_view(item_id, request, response)
    return GraphResponse(200, {"responses": [answers[item["id"]] for item in items]})


def endpoints() -> list[Endpoint]:
    return [Endpoint("POST", "/$batch", run_batch, None)]
