"""The two baselines of the read-path benchmark, each served alone by uvicorn:

- `floor`: a minimal Starlette app doing the same key check and the same SQL as TenantCore's
  `GET /v1/tenants/{tenant_id}/mailboxes` with the plain driver (sqlite3 or psycopg, one
  connection), returning the same JSON through orjson. Nothing can be much cheaper.
- `textbook`: the same endpoint written the usual FastAPI way: an ORM session per request,
  ORM objects, and a Pydantic `response_model` that FastAPI validates and serializes.

    python -m benchmarks.read_apps floor|textbook --port P --database-url URL
"""

# No `from __future__ import annotations`: FastAPI must see the local dependency objects.

import argparse
import hashlib
import hmac
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, date, datetime
from typing import Annotated, Any

import orjson
import psycopg
import uvicorn
from fastapi import Depends, FastAPI, Header, HTTPException
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from tenantcore.accounts.models import ApiKey
from tenantcore.core.db import create_engine, create_sessionmaker, sync_database_url
from tenantcore.domains.models import Domain
from tenantcore.enforcement.caps import Ceiling, mailbox_cap
from tenantcore.enforcement.models import EnforcementPolicy
from tenantcore.enforcement.repository import ceilings
from tenantcore.mailboxes.models import Mailbox
from tenantcore.mailboxes.schemas import MailboxList, MailboxOut, UsageOut
from tenantcore.tenants.models import Tenant

PREFIX = "tc_live_"
LOOKUP_CHARS = 16

KEY_SQL = (
    "SELECT id, account_id, secret_hash FROM api_key WHERE prefix = {p} AND revoked_at IS NULL"
)
TENANT_SQL = (
    "SELECT id, tenant_id, tenant_name FROM tenant WHERE account_id = {p} AND tenant_id = {p}"
)
LIST_SQL = (
    "SELECT m.id, m.display_name, m.primary_smtp, m.user_principal_name, m.mail_nickname, "
    "m.account_enabled, m.daily_send_limit, m.sends_today, m.usage_day, m.blocked_at, "
    "m.created_at, d.domain_name, m.status, m.ready_at, m.usage_synced_at, m.error, "
    "m.smtp_auth_enabled "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_pk WHERE m.tenant_pk = {p} "
    "ORDER BY d.domain_name, m.primary_smtp"
)
MAILBOX_SQL = (
    "SELECT m.id, m.primary_smtp, m.display_name, m.account_enabled, m.daily_send_limit, "
    "m.sends_today, m.usage_day, m.blocked_at, m.usage_synced_at, m.status, d.domain_name, "
    "m.smtp_auth_enabled, m.ready_at "
    "FROM mailbox m JOIN domain d ON d.id = m.domain_pk WHERE m.tenant_pk = {p} AND m.id = {p}"
)
USAGE_COLUMNS = (
    "id",
    "primary_smtp",
    "display_name",
    "account_enabled",
    "daily_send_limit",
    "sends_today",
    "usage_day",
    "blocked_at",
    "usage_synced_at",
    "status",
    "domain",
    "smtp_auth_enabled",
    "ready_at",
)
POLICY_SQL = (
    "SELECT scope_key, daily_send_limit, ramp_start, ramp_daily_increase "
    "FROM enforcement_policy WHERE tenant_pk = {p}"
)


def _usage(mailbox: Any, policies: dict[str, Ceiling], today: str) -> dict[str, Any]:
    """The usage numbers, by the same rule as TenantCore (enforcement/caps.py)."""
    effective = mailbox_cap(
        mailbox["daily_send_limit"],
        mailbox["domain"],
        _timestamp(mailbox["ready_at"]),
        policies,
        date.fromisoformat(today),
    )
    applicable = effective if effective is not None else mailbox["daily_send_limit"]
    sends = mailbox["sends_today"] if mailbox["usage_day"] in (None, today) else 0
    return {
        "mailbox_id": mailbox["id"],
        "primary_smtp": mailbox["primary_smtp"],
        "display_name": mailbox["display_name"],
        "account_enabled": bool(mailbox["account_enabled"]),
        "daily_send_limit": mailbox["daily_send_limit"],
        "sends_today": sends,
        "remaining_sends": None if applicable is None else max(applicable - sends, 0),
        "is_blocked": mailbox["blocked_at"] is not None,
        "blocked_at": _timestamp(mailbox["blocked_at"]),
        "utilization_pct": None if applicable is None else round(sends * 100 / applicable, 1),
        "effective_send_limit": effective,
        "usage_synced_at": _timestamp(mailbox["usage_synced_at"]),
        "status": mailbox["status"],
        "smtp_auth_enabled": _flag(mailbox["smtp_auth_enabled"]),
    }


# The same timestamps as TenantCore's JSON (`…Z`): SQLite hands back the stored text (naive
# UTC), which is parsed; PostgreSQL's connection answers in UTC.
JSON_OPTIONS = orjson.OPT_NAIVE_UTC | orjson.OPT_UTC_Z


def _flag(value: Any) -> bool | None:
    """A nullable boolean column (SQLite hands back 0/1)."""
    return None if value is None else bool(value)


def _timestamp(value: Any) -> Any:
    return datetime.fromisoformat(value) if isinstance(value, str) else value


def floor_app(database_url: str) -> Starlette:
    url = sync_database_url(database_url)
    if url.startswith("sqlite"):
        connection: Any = sqlite3.connect(url.split("///", 1)[1], check_same_thread=False)
        placeholder = "?"
    else:
        connection = psycopg.connect(
            url.replace("postgresql+psycopg", "postgresql"),
            autocommit=True,
            options="-c timezone=UTC",
        )
        placeholder = "%s"
    key_sql, tenant_sql, list_sql, mailbox_sql, policy_sql = (
        sql.format(p=placeholder)
        for sql in (KEY_SQL, TENANT_SQL, LIST_SQL, MAILBOX_SQL, POLICY_SQL)
    )

    def unauthorized() -> Response:
        return Response(
            b'{"detail":{"code":"invalid_api_key"}}', 401, media_type="application/json"
        )

    def tenant_of(request: Request) -> Any:
        """The caller's tenant row, or None when the key or the tenant is wrong."""
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not key.startswith(PREFIX):
            return None
        row = connection.execute(
            key_sql, (key[len(PREFIX) : len(PREFIX) + LOOKUP_CHARS],)
        ).fetchone()
        digest = hashlib.sha256(key.encode()).hexdigest()
        if row is None or not hmac.compare_digest(digest, row[2]):
            return None
        return connection.execute(tenant_sql, (row[1], request.path_params["tenant_id"])).fetchone()

    async def usage(request: Request) -> Response:
        tenant = tenant_of(request)
        if tenant is None:
            return unauthorized()
        found = connection.execute(
            mailbox_sql, (tenant[0], request.path_params["mailbox_id"])
        ).fetchone()
        if found is None:
            return Response(b'{"detail":{"code":"mailbox_not_found"}}', 404)
        names = USAGE_COLUMNS
        policies = {
            scope: Ceiling(*columns)
            for scope, *columns in connection.execute(policy_sql, (tenant[0],)).fetchall()
        }
        today = datetime.now(UTC).date().isoformat()
        body = _usage(dict(zip(names, found, strict=True)), policies, today)
        return Response(orjson.dumps(body, option=JSON_OPTIONS), media_type="application/json")

    async def list_mailboxes(request: Request) -> Response:
        tenant = tenant_of(request)
        if tenant is None:
            return unauthorized()
        now = datetime.now(UTC).date()
        today = now.isoformat()
        policies = {
            scope: Ceiling(*columns)
            for scope, *columns in connection.execute(policy_sql, (tenant[0],)).fetchall()
        }
        rows = connection.execute(list_sql, (tenant[0],)).fetchall()
        mailboxes = [
            {
                "id": m[0],
                "display_name": m[1],
                "primary_smtp": m[2],
                "user_principal_name": m[3],
                "mail_nickname": m[4],
                "account_enabled": bool(m[5]),
                "daily_send_limit": m[6],
                "sends_today": m[7] if m[8] in (None, today) else 0,
                "blocked_at": _timestamp(m[9]),
                "created_at": _timestamp(m[10]),
                "domain_name": m[11],
                "tenant_name": tenant[2],
                "status": m[12],
                "ready_at": (ready_at := _timestamp(m[13])),
                "usage_synced_at": _timestamp(m[14]),
                "error": m[15],
                "smtp_auth_enabled": _flag(m[16]),
                "effective_send_limit": mailbox_cap(m[6], m[11], ready_at, policies, now),
            }
            for m in rows
        ]
        body = {
            "tenant_id": tenant[1],
            "mailboxes": mailboxes,
            "count": len(mailboxes),
            "next_cursor": None,
        }
        return Response(orjson.dumps(body, option=JSON_OPTIONS), media_type="application/json")

    return Starlette(
        routes=[
            Route("/v1/tenants/{tenant_id}/mailboxes", list_mailboxes),
            Route("/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage", usage),
        ]
    )


def textbook_app(database_url: str) -> FastAPI:
    engine = create_engine(database_url)
    sessionmaker = create_sessionmaker(engine)
    app = FastAPI()

    async def session() -> AsyncIterator[AsyncSession]:
        async with sessionmaker() as db:
            yield db

    async def caller_tenant(db: AsyncSession, authorization: str, tenant_id: str) -> Tenant:
        """The key check and the tenant lookup, through ORM objects."""
        key = authorization.partition(" ")[2]
        api_key = await db.scalar(
            select(ApiKey).where(
                ApiKey.prefix == key[len(PREFIX) : len(PREFIX) + LOOKUP_CHARS],
                ApiKey.revoked_at.is_(None),
            )
        )
        if api_key is None or not hmac.compare_digest(
            hashlib.sha256(key.encode()).hexdigest(), api_key.secret_hash
        ):
            raise HTTPException(401)
        found = await db.scalar(
            select(Tenant).where(
                Tenant.account_id == api_key.account_id, Tenant.tenant_id == tenant_id
            )
        )
        if found is None:
            raise HTTPException(404)
        return found

    @app.get("/v1/tenants/{tenant_id}/mailboxes", response_model=MailboxList)
    async def list_mailboxes(
        tenant_id: str,
        db: Annotated[AsyncSession, Depends(session)],
        authorization: Annotated[str, Header()] = "",
    ) -> Any:
        tenant = await caller_tenant(db, authorization, tenant_id)
        rows = await db.execute(
            select(Mailbox, Domain)
            .join(Domain, Domain.id == Mailbox.domain_pk)
            .where(Mailbox.tenant_pk == tenant.id)
            .order_by(Domain.domain_name, Mailbox.primary_smtp)
        )
        now = datetime.now(UTC).date()
        today = now.isoformat()
        policies = ceilings(
            (
                await db.scalars(
                    select(EnforcementPolicy).where(EnforcementPolicy.tenant_pk == tenant.id)
                )
            ).all()
        )
        mailboxes = [
            MailboxOut(
                **{
                    field: getattr(mailbox, field)
                    for field in MailboxOut.model_fields
                    if hasattr(mailbox, field)
                },
                domain_name=domain.domain_name,
                tenant_name=tenant.tenant_name,
                effective_send_limit=mailbox_cap(
                    mailbox.daily_send_limit,
                    domain.domain_name,
                    mailbox.ready_at,
                    policies,
                    now,
                ),
            ).model_copy(
                update={
                    "sends_today": mailbox.sends_today if mailbox.usage_day in (None, today) else 0
                }
            )
            for mailbox, domain in rows.all()
        ]
        return MailboxList(
            tenant_id=tenant.tenant_id, mailboxes=mailboxes, count=len(mailboxes), next_cursor=None
        )

    @app.get("/v1/tenants/{tenant_id}/mailboxes/{mailbox_id}/usage", response_model=UsageOut)
    async def usage(
        tenant_id: str,
        mailbox_id: str,
        db: Annotated[AsyncSession, Depends(session)],
        authorization: Annotated[str, Header()] = "",
    ) -> Any:
        tenant = await caller_tenant(db, authorization, tenant_id)
        mailbox = await db.scalar(
            select(Mailbox).where(Mailbox.tenant_pk == tenant.id, Mailbox.id == mailbox_id)
        )
        if mailbox is None:
            raise HTTPException(404)
        domain = await db.get(Domain, mailbox.domain_pk)
        assert domain is not None
        policies = (
            await db.scalars(
                select(EnforcementPolicy).where(EnforcementPolicy.tenant_pk == tenant.id)
            )
        ).all()
        today = datetime.now(UTC).date().isoformat()
        row = {
            "id": mailbox.id,
            "primary_smtp": mailbox.primary_smtp,
            "display_name": mailbox.display_name,
            "account_enabled": mailbox.account_enabled,
            "daily_send_limit": mailbox.daily_send_limit,
            "sends_today": mailbox.sends_today,
            "usage_day": mailbox.usage_day,
            "blocked_at": mailbox.blocked_at,
            "usage_synced_at": mailbox.usage_synced_at,
            "status": mailbox.status,
            "domain": domain.domain_name,
            "smtp_auth_enabled": mailbox.smtp_auth_enabled,
            "ready_at": mailbox.ready_at,
        }
        numbers = _usage(row, ceilings(policies), today)
        return UsageOut(
            **{
                **numbers,
                "blocked_at": mailbox.blocked_at,
                "usage_synced_at": mailbox.usage_synced_at,
            }
        )

    return app


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("app", choices=["floor", "textbook"])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--database-url", required=True)
    args = parser.parse_args()
    app: Any = (
        floor_app(args.database_url) if args.app == "floor" else textbook_app(args.database_url)
    )
    uvicorn.run(app, host="127.0.0.1", port=args.port, log_level="warning", access_log=False)


if __name__ == "__main__":
    main()
