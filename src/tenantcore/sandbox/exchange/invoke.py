"""`POST /adminapi/beta/{tenant}/InvokeCommand`: Exchange Online's admin REST endpoint.

One request runs one cmdlet (wire reference 3.2-3.6): bearer token for
https://outlook.office365.com with the Exchange.ManageAsApp role, the tenant as GUID or domain,
`{"CmdletInput": {"CmdletName", "Parameters"}}` with case-insensitive names. Each request holds
one of the tenant's concurrent-request slots for its whole duration (injected latency included),
so clients that overrun the cap see Exchange's concurrency error.
"""

from __future__ import annotations

import gzip
import json
import re
import uuid
from typing import TYPE_CHECKING, Any

from starlette.responses import Response

from tenantcore.sandbox.directory import resolve_tenant
from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.paging import PageStore, split
from tenantcore.sandbox.exchange.registry import CmdletContext, Registry
from tenantcore.sandbox.exchange.serialize import envelope, parse_select, wire_row
from tenantcore.sandbox.exchange.throttle import RateBudget
from tenantcore.sandbox.tokens import EXCHANGE_AUDIENCE, TokenError, bearer, verify

if TYPE_CHECKING:
    from starlette.requests import Request

    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.runtime import InjectedFault
    from tenantcore.sandbox.store import Row
    from tenantcore.sandbox.tokens import TokenClaims

CONTENT_TYPE = (
    "application/json;odata.metadata=minimal;odata.streaming=true;IEEE754Compatible=false;"
    "charset=utf-8"
)
CONCURRENCY_MESSAGE = (
    "You have reached the maximum number of concurrent requests per tenant. Please wait and"
    " try again."
)
REQUIRED_ROLE = "Exchange.ManageAsApp"
DEFAULT_PAGE_SIZE = 1000
# The largest page served whatever the client prefers (the real maximum is UNCONFIRMED).
MAX_PAGE_SIZE = 1000
_AUDIENCES = {EXCHANGE_AUDIENCE, "https://outlook.office.com"}
_PAGE_SIZE_RE = re.compile(r"odata\.maxpagesize\s*=\s*(\d+)", re.IGNORECASE)
# Exchange's 403 for an unknown cmdlet or a missing role: a run of NUL bytes, gzip-encoded.
_NUL_BODY = gzip.compress(b"\x00" * 16)
_EXCHANGE_VERSION = "Version 15.20 (Build 8000.0)"


class _Reply(Exception):
    """Ends a request early with a finished response."""

    def __init__(self, response: Response) -> None:
        super().__init__(response.status_code)
        self.response = response


class ExchangeHost:
    def __init__(self, sb: Sandbox, registry: Registry) -> None:
        self.sb = sb
        self.registry = registry
        self.pages = PageStore()
        self.budget = RateBudget()

    async def invoke(self, request: Request) -> Response:
        request_id = str(uuid.uuid4())
        base_headers = {"Request-Id": request_id, "Cache-Control": "no-cache"}
        if "client-request-id" in request.headers:
            base_headers["client-request-id"] = request.headers["client-request-id"]
        try:
            tenant, claims = self._authenticate(request, base_headers)
            base_headers["X-Ms-Appid"] = claims.app_id
            tenant_id = str(tenant["id"])
            async with self.sb.runtime.exchange_slot(tenant_id) as admitted:
                if not admitted:
                    self.sb.runtime.throttled["exchange_concurrency"] += 1
                    return Response(
                        CONCURRENCY_MESSAGE,
                        status_code=429,
                        media_type="text/plain; charset=utf-8",
                        headers={**base_headers, "Retry-After": "1"},
                    )
                return await self._admitted(request, tenant, base_headers)
        except _Reply as reply:
            return reply.response

    def _authenticate(self, request: Request, headers: dict[str, str]) -> tuple[Row, TokenClaims]:
        ref = request.path_params["tenant"]
        token = bearer(request.headers.get("authorization"))
        if token is None:
            raise _Reply(_unauthorized(headers, "The bearer token is missing."))
        try:
            claims = verify(self.sb.signing_key, token, now=self.sb.now())
        except TokenError as exc:
            reason = "The token has expired." if exc.reason == "expired" else "Invalid token."
            raise _Reply(_unauthorized(headers, reason)) from None
        if claims.audience.rstrip("/") not in _AUDIENCES:
            raise _Reply(
                _unauthorized(headers, f"The audience claim value is invalid '{claims.audience}'.")
            )
        tenant = resolve_tenant(self.sb, ref)
        if tenant is None or tenant["id"] != claims.tenant_id.lower():
            raise _Reply(_unauthorized(headers, "The token is not valid for this organization."))
        if REQUIRED_ROLE not in claims.roles:
            raise _Reply(_forbidden(headers))
        return tenant, claims

    async def _admitted(self, request: Request, tenant: Row, headers: dict[str, str]) -> Response:
        ref = request.path_params["tenant"]
        base = f"{request.url.scheme}://{request.url.netloc}/adminapi/beta/{ref}"
        page_size = _page_size(request.headers.get("prefer"))
        skiptoken = request.query_params.get("$skiptoken")
        if skiptoken is not None:
            return await self._next_page(str(tenant["id"]), skiptoken, base, page_size, headers)
        if request.method != "POST":
            return Response(status_code=405, headers={**headers, "Allow": "POST"})
        name, raw_params = await _cmdlet_input(request, headers)
        cmdlet = self.registry.get(name)
        fault = await self.sb.runtime.before_call("exchange", cmdlet.name if cmdlet else name)
        if fault is not None:
            return self._fault(fault, headers)
        if cmdlet is None:
            return _forbidden(headers)
        retry_after = self.budget.take(str(tenant["id"]), self.sb.now())
        if retry_after is not None:
            return self._error(
                errors.CmdletError(
                    429,
                    errors.THROTTLED,
                    "The tenant has used up its Exchange request budget for now.",
                    retry_after=retry_after,
                ),
                headers,
            )
        ctx = CmdletContext(self.sb, tenant, self.sb.now())
        try:
            params = cmdlet.bind(raw_params)
            with self.sb.store.transaction():
                result = cmdlet.handler(ctx, params)
        except errors.CmdletError as error:
            return self._error(error, headers)
        after = self.sb.runtime.after_call("exchange", cmdlet.name)
        if after is not None:
            return self._fault(after, headers)
        select = parse_select(request.query_params.get("$select"))
        rows = [wire_row(row, select) for row in result.rows]
        if not cmdlet.paged:
            page_size = max(page_size, len(rows))
        return self._page(
            base, ctx.tenant_id, cmdlet.name, rows, result.warnings, page_size, headers
        )

    async def _next_page(
        self, tenant_id: str, skiptoken: str, base: str, page_size: int, headers: dict[str, str]
    ) -> Response:
        """A continuation page (GET, or POST of the same body: the body is not needed)."""
        pending = self.pages.get(skiptoken, tenant_id)
        if pending is None:
            return _bad_request(headers, "The $skiptoken is invalid or has expired.")
        fault = await self.sb.runtime.before_call("exchange", pending.cmdlet)
        if fault is not None:
            return self._fault(fault, headers)
        return self._page(base, tenant_id, pending.cmdlet, pending.rows, [], page_size, headers)

    def _page(
        self,
        base: str,
        tenant_id: str,
        cmdlet: str,
        rows: list[dict[str, Any]],
        warnings: list[str],
        page_size: int,
        headers: dict[str, str],
    ) -> Response:
        page, rest = split(rows, page_size)
        next_link = None
        if rest:
            next_link = f"{base}/InvokeCommand?$skiptoken={self.pages.put(tenant_id, cmdlet, rest)}"
        body = envelope(
            f"{base}/$metadata#Collection(Exchange.GenericHashTable)", page, warnings, next_link
        )
        return _json(200, body, {**headers, **self._success_headers(tenant_id, page_size)})

    def _success_headers(self, tenant_id: str, page_size: int) -> dict[str, str]:
        in_flight = self.sb.runtime.exchange_in_flight[tenant_id]
        return {
            "OData-Version": "4.0",
            "Preference-Applied": f'odata.include-annotations="*",odata.maxpagesize={page_size}',
            **self.budget.headers(tenant_id, self.sb.now()),
            "X-Concurrencycount": str(max(in_flight - 1, 0)),
            "X-Combinedapponlyconcurrencycount": str(max(in_flight - 1, 0)),
            "X-Exchangeversion": _EXCHANGE_VERSION,
            "Organizationstatus": "Active",
        }

    def _error(self, error: errors.CmdletError, headers: dict[str, str]) -> Response:
        body = errors.render(error, self.sb.config.exchange_error_detail_style)
        extra = {} if error.retry_after is None else {"Retry-After": f"{error.retry_after:g}"}
        return _json(error.status, body, {**headers, **extra})

    def _fault(self, fault: InjectedFault, headers: dict[str, str]) -> Response:
        retry = {"Retry-After": f"{fault.retry_after_seconds:g}"}
        if fault.status == 429:
            error = errors.CmdletError(
                429,
                errors.THROTTLED,
                "The request was throttled because of high server load. Please retry after"
                f" {fault.retry_after_seconds:g} seconds.",
                retry_after=fault.retry_after_seconds,
            )
            return self._error(error, headers)
        extra = retry if fault.status in (429, 503) else {}
        text = {
            408: "Request Timeout",
            500: "Internal Server Error",
            502: "Bad Gateway",
            503: "Service Unavailable",
            504: "Gateway Timeout",
        }.get(fault.status, "Error")
        html = f"<html><head><title>{text}</title></head><body><h1>{text}</h1></body></html>"
        return Response(
            html,
            status_code=fault.status,
            media_type="text/html; charset=utf-8",
            headers={**headers, **extra},
        )

    async def wrong_version(self, request: Request) -> Response:
        """InvokeCommand is answered only under `beta` (405 under v1.0, wire reference 3.2)."""
        del request
        return Response(status_code=405, headers={"Allow": "POST"})


async def _cmdlet_input(request: Request, headers: dict[str, str]) -> tuple[str, dict[str, Any]]:
    """(cmdlet name, parameters) from the body; keys are matched case-insensitively."""
    try:
        body = json.loads(await request.body() or b"null")
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise _Reply(_bad_request(headers, "The request body is not valid JSON.")) from None
    cmdlet_input = _key(body, "CmdletInput")
    name = _key(cmdlet_input, "CmdletName")
    params = _key(cmdlet_input, "Parameters")
    if not isinstance(name, str) or not name.strip():
        raise _Reply(_bad_request(headers, "CmdletInput.CmdletName is required."))
    if params is None:
        params = {}
    if not isinstance(params, dict):
        raise _Reply(_bad_request(headers, "CmdletInput.Parameters must be an object."))
    return name, params


def _key(container: Any, name: str) -> Any:
    if not isinstance(container, dict):
        return None
    for key, value in container.items():
        if isinstance(key, str) and key.lower() == name.lower():
            return value
    return None


def _page_size(prefer: str | None) -> int:
    match = _PAGE_SIZE_RE.search(prefer or "")
    if match is None:
        return DEFAULT_PAGE_SIZE
    return max(1, min(int(match.group(1)), MAX_PAGE_SIZE))


def _json(status: int, body: dict[str, Any], headers: dict[str, str]) -> Response:
    content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    return Response(content, status_code=status, headers={**headers, "Content-Type": CONTENT_TYPE})


def _bad_request(headers: dict[str, str], message: str) -> Response:
    return _json(400, {"error": {"code": "BadRequest", "message": message}}, headers)


def _unauthorized(headers: dict[str, str], reason: str) -> Response:
    return Response(
        b"",
        status_code=401,
        headers={
            **headers,
            "WWW-Authenticate": (
                'Bearer client_id="00000002-0000-0ff1-ce00-000000000000",'
                ' trusted_issuers="00000001-0000-0000-c000-000000000000@*",'
                ' token_types="app_asserted_user_v1 service_asserted_app_v1",'
                ' authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize",'
                ' error="invalid_token"'
            ),
            "x-ms-diagnostics": f'2000001;reason="{reason}";error_category="invalid_token"',
        },
    )


def _forbidden(headers: dict[str, str]) -> Response:
    return Response(_NUL_BODY, status_code=403, headers={**headers, "Content-Encoding": "gzip"})
