"""`/users`: create, get (by id or UPN), list with OData options, count, update, delete.

Users live in `directory_user`; a user created by Exchange's New-Mailbox is linked from
`mailbox.user_id`, which is where `mail` and `proxyAddresses` come from.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.directory import age_seconds, find_user, new_guid
from tenantcore.sandbox.graph.common import GraphError, GraphResponse, not_found
from tenantcore.sandbox.graph.dispatch import Endpoint
from tenantcore.sandbox.graph.odata import (
    decode_skiptoken,
    encode_skiptoken,
    next_link,
    parse_filter,
    parse_top,
)
from tenantcore.sandbox.graph.userquery import (
    advanced_operators,
    context_url,
    load_user,
    load_users,
    matches,
    needs_advanced,
    parse_orderby,
    parse_select,
    project,
)
from tenantcore.sandbox.graph.usersearch import search_matches
from tenantcore.sandbox.graph.uservalidation import (
    boolean,
    check_password,
    display_name,
    ensure_upn_free,
    mail_nickname,
    password_policies,
    password_profile,
    profile_updates,
    required_missing,
    user_principal_name,
    writable_fields,
)
from tenantcore.sandbox.passwords import hash_password
from tenantcore.sandbox.store import Row, dumps
from tenantcore.sandbox.timeutil import iso

if TYPE_CHECKING:
    from tenantcore.sandbox.graph.common import GraphRequest
    from tenantcore.sandbox.graph.dispatch import GraphContext

READ_ROLES = frozenset(
    {
        "User.Read.All",
        "User.ReadWrite.All",
        "User.ReadBasic.All",
        "Directory.Read.All",
        "Directory.ReadWrite.All",
    }
)
WRITE_ROLES = frozenset({"User.ReadWrite.All", "Directory.ReadWrite.All"})
_UNSUPPORTED_OPTIONS = ("$expand", "$skip", "$apply", "$compute")


def _user_or_404(ctx: GraphContext) -> Row:
    """The addressed user; 404 also while a fresh user has not replicated to this replica."""
    key = ctx.params["id"]
    user = find_user(ctx.sb, ctx.tenant_id, key)
    if user is None or ctx.sb.runtime.replication_lagging(age_seconds(ctx.sb, user["created_at"])):
        raise not_found(key)
    return user


def _reject_unsupported_options(request: GraphRequest) -> None:
    for option in _UNSUPPORTED_OPTIONS:
        if request.option(option) is not None:
            raise GraphError(
                400,
                "Request_BadRequest",
                f"The query option '{option}' is not supported by this request.",
            )


def _eventual(request: GraphRequest) -> bool:
    return (request.header("consistencylevel") or "").strip().lower() == "eventual"


def _count_requested(request: GraphRequest) -> bool:
    raw = request.option("$count")
    if raw is None:
        return False
    if raw.lower() not in ("true", "false"):
        raise GraphError(400, "BadRequest", f"Invalid value '{raw}' for $count query option found.")
    return raw.lower() == "true"


async def create_user(ctx: GraphContext) -> GraphResponse:
    fields = writable_fields(ctx.request.json())
    for name in ("accountEnabled", "displayName", "mailNickname", "userPrincipalName"):
        if fields.get(name) is None or fields.get(name) == "":
            raise required_missing(name)
    enabled = boolean(fields["accountEnabled"])
    name = display_name(fields["displayName"])
    nickname = mail_nickname(fields["mailNickname"])
    profile = password_profile(fields.get("passwordProfile") or {})
    if not profile.get("password"):
        raise GraphError(
            400, "Request_BadRequest", "A password must be specified to create a new user."
        )
    policies = password_policies(fields.get("passwordPolicies"))
    extra = profile_updates(fields)
    upn = user_principal_name(ctx.sb, ctx.tenant_id, fields["userPrincipalName"])
    check_password(ctx.sb, ctx.tenant_id, profile["password"], policies)
    ensure_upn_free(ctx.sb, ctx.tenant_id, upn, user_id=None, mailbox_guid=None)
    user_id = new_guid()
    with ctx.sb.store.transaction():
        ctx.sb.store.execute(
            "INSERT INTO directory_user(id, tenant_id, user_principal_name, display_name,"
            " mail_nickname, account_enabled, password_hash, password_policies,"
            " force_change_password, created_at, profile) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                user_id,
                ctx.tenant_id,
                upn,
                name,
                nickname,
                int(enabled),
                hash_password(profile["password"]),
                policies,
                int(bool(profile.get("forceChangePasswordNextSignIn", True))),
                iso(ctx.sb.now()),
                dumps({k: v for k, v in extra.items() if v is not None}),
            ),
        )
    body = {"@odata.context": context_url(None, entity=True)}
    body.update(project(load_user(ctx.sb, user_id), None))
    return GraphResponse(201, body)


async def get_user(ctx: GraphContext) -> GraphResponse:
    _reject_unsupported_options(ctx.request)
    select = parse_select(ctx.request.option("$select"))
    user = _user_or_404(ctx)
    body = {"@odata.context": context_url(select, entity=True)}
    body.update(project(load_user(ctx.sb, user["id"]), select))
    return GraphResponse(200, body)


def _matching_users(ctx: GraphContext, *, advanced: bool) -> list[dict[str, Any]]:
    users = load_users(ctx.sb, ctx.tenant_id)
    raw_search = ctx.request.option("$search")
    if raw_search is not None:
        if not _eventual(ctx.request):
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                "Request with $search query parameter only works through MSGraph with a special"
                " request header: 'ConsistencyLevel: eventual'",
            )
        users = [view for view in users if search_matches(raw_search, view)]
    raw_filter = ctx.request.option("$filter")
    if raw_filter is None:
        return users
    node = parse_filter(raw_filter)
    needing = advanced_operators(node)
    if needing and not advanced:
        raise needs_advanced(needing[0])
    return [view for view in users if matches(node, view)]


async def list_users(ctx: GraphContext) -> GraphResponse:
    request = ctx.request
    _reject_unsupported_options(request)
    select = parse_select(request.option("$select"))
    counted = _count_requested(request) and _eventual(request)
    orderby = parse_orderby(request.option("$orderby"))
    if orderby is not None and request.option("$filter") is not None and not counted:
        raise GraphError(
            400, "Request_UnsupportedQuery", "Sorting not supported for current query."
        )
    top = parse_top(request, default=100, maximum=999)
    users = _matching_users(ctx, advanced=counted)
    prop, descending = orderby or ("id", False)

    def key(view: dict[str, Any]) -> list[str]:
        return [str(view[prop] or "").casefold(), view["id"]]

    users.sort(key=key, reverse=descending)
    total = len(users)
    token = request.option("$skiptoken")
    if token is not None:
        cursor = decode_skiptoken(token, 2)
        users = [v for v in users if (key(v) < cursor if descending else key(v) > cursor)]
    page = users[:top]
    body: dict[str, Any] = {"@odata.context": context_url(select, entity=False)}
    if counted:
        body["@odata.count"] = total
    if len(users) > top:
        body["@odata.nextLink"] = next_link(request, encode_skiptoken(key(page[-1])))
    body["value"] = [project(view, select) for view in page]
    return GraphResponse(200, body)


async def count_users(ctx: GraphContext) -> GraphResponse:
    if not _eventual(ctx.request):
        raise GraphError(400, "Request_BadRequest", "$count is not currently supported.")
    return GraphResponse(200, text=str(len(_matching_users(ctx, advanced=True))))


async def update_user(ctx: GraphContext) -> GraphResponse:
    user = _user_or_404(ctx)
    fields = writable_fields(ctx.request.json())
    columns: dict[str, Any] = {}
    if "accountEnabled" in fields:
        columns["account_enabled"] = int(boolean(fields["accountEnabled"]))
    if "displayName" in fields:
        columns["display_name"] = display_name(fields["displayName"])
    if "mailNickname" in fields:
        columns["mail_nickname"] = mail_nickname(fields["mailNickname"])
    if "passwordPolicies" in fields:
        columns["password_policies"] = password_policies(fields["passwordPolicies"])
    if "userPrincipalName" in fields:
        upn = user_principal_name(ctx.sb, ctx.tenant_id, fields["userPrincipalName"])
        mailbox = ctx.sb.store.one("SELECT guid FROM mailbox WHERE user_id = ?", (user["id"],))
        ensure_upn_free(
            ctx.sb,
            ctx.tenant_id,
            upn,
            user_id=user["id"],
            mailbox_guid=None if mailbox is None else mailbox["guid"],
        )
        columns["user_principal_name"] = upn
    if "passwordProfile" in fields:
        profile = password_profile(fields["passwordProfile"] or {})
        if profile.get("password") is not None:
            policies = columns.get("password_policies", user["password_policies"])
            check_password(ctx.sb, ctx.tenant_id, profile["password"], policies)
            columns["password_hash"] = hash_password(profile["password"])
        if profile.get("forceChangePasswordNextSignIn") is not None:
            columns["force_change_password"] = int(profile["forceChangePasswordNextSignIn"])
    extra = profile_updates(fields)
    if extra:
        stored: dict[str, Any] = json.loads(user["profile"] or "{}")
        stored.update(extra)
        columns["profile"] = dumps({k: v for k, v in stored.items() if v is not None})
    if columns:
        assignments = ", ".join(f"{column} = ?" for column in columns)
        with ctx.sb.store.transaction():
            ctx.sb.store.execute(
                f"UPDATE directory_user SET {assignments} WHERE id = ?",  # noqa: S608 - fixed names
                (*columns.values(), user["id"]),
            )
    return GraphResponse(204)


async def delete_user(ctx: GraphContext) -> GraphResponse:
    user = _user_or_404(ctx)
    store = ctx.sb.store
    with store.transaction():
        mailbox = store.one("SELECT guid FROM mailbox WHERE user_id = ?", (user["id"],))
        if mailbox is not None:
            store.execute(
                "DELETE FROM proxy_address WHERE tenant_id = ? AND owner_kind = 'mailbox'"
                " AND owner_guid = ?",
                (ctx.tenant_id, mailbox["guid"]),
            )
            store.execute("DELETE FROM group_member WHERE member_guid = ?", (mailbox["guid"],))
        # The mailbox row goes with the user (ON DELETE CASCADE).
        store.execute("DELETE FROM directory_user WHERE id = ?", (user["id"],))
    return GraphResponse(204)


def endpoints() -> list[Endpoint]:
    return [
        Endpoint("POST", "/users", create_user, WRITE_ROLES),
        Endpoint("GET", "/users", list_users, READ_ROLES),
        Endpoint("GET", "/users/$count", count_users, READ_ROLES),
        Endpoint("GET", "/users/{id}", get_user, READ_ROLES),
        Endpoint("PATCH", "/users/{id}", update_user, WRITE_ROLES),
        Endpoint("DELETE", "/users/{id}", delete_user, WRITE_ROLES),
    ]
