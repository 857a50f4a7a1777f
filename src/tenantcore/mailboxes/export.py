"""`GET /v1/tenants/{tenant_id}/mailboxes/export` (beyond the seed): the tenant's mailboxes as a
CSV file to hand to a sending tool, on the read pool.

One row per mailbox with what a sending tool asks for to log in over SMTP AUTH (address, sign-in
name, server, port, STARTTLS), the display name split into first and last name, and the daily
limit to give the tool: the cap that applies to the mailbox today (the enforced one, ramp
included, else its own), so the tool never plans more than Exchange lets through. TenantCore
never holds a mailbox's password, so the `password` column is there for the customer to fill.
"""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any

from sqlalchemy.engine import Connection

from tenantcore.accounts.service import Principal
from tenantcore.core.errors import InvalidRequest
from tenantcore.domains.errors import DomainNotFound
from tenantcore.domains.names import lookup_name
from tenantcore.enforcement.repository import ceilings_on
from tenantcore.mailboxes import repository
from tenantcore.mailboxes.models import MailboxStatus
from tenantcore.mailboxes.reads import list_row_caps
from tenantcore.tenants.service import require_tenant_row

COLUMNS = (
    "email",
    "display_name",
    "first_name",
    "last_name",
    "username",
    "password",
    "smtp_host",
    "smtp_port",
    "smtp_security",
    "daily_limit",
    "domain",
    "status",
    "smtp_auth_enabled",
    "mailbox_id",
)
# A spreadsheet runs a cell starting with one of these as a formula (CSV injection); display
# names are the customer's free text, so such a cell is prefixed with an apostrophe.
_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
_STATUSES = frozenset(status.value for status in MailboxStatus)
_FIELD_AT = {name: index for index, name in enumerate(repository.LIST_FIELDS)}


def export_csv(
    connection: Connection,
    principal: Principal,
    tenant_id: str,
    *,
    today: date,
    smtp_host: str,
    smtp_port: int,
    domain: str | None = None,
    status: str | None = None,
) -> tuple[str, str]:
    """(the tenant's GUID, the CSV text) for the tenant's mailboxes (or one domain's, and/or
    those in one status), by domain and address."""
    if status is not None and status not in _STATUSES:
        raise InvalidRequest("status must be provisioning, ready or failed.")
    tenant_pk, tenant_guid, _ = require_tenant_row(connection, principal, tenant_id)
    domain_name = None if domain is None else lookup_name(domain)
    if domain is not None and (
        domain_name is None or not repository.domain_exists_on(connection, tenant_pk, domain_name)
    ):
        raise DomainNotFound
    cap_of = list_row_caps(ceilings_on(connection, tenant_pk), today)
    rows = repository.list_rows_on(
        connection, principal.account_id, tenant_guid, domain_name=domain_name, status=status
    )
    out = io.StringIO()
    writer = csv.writer(out)  # RFC 4180: CRLF line ends, fields quoted when needed
    writer.writerow(COLUMNS)
    for row in rows:
        mailbox = {name: row[index] for name, index in _FIELD_AT.items()}
        own = mailbox["daily_send_limit"]
        cap = cap_of(row)
        applicable = cap if cap is not None else own
        first, last = _split_name(mailbox["display_name"])
        writer.writerow(
            (
                mailbox["primary_smtp"],
                _cell(mailbox["display_name"]),
                _cell(first),
                _cell(last),
                mailbox["user_principal_name"],
                "",
                smtp_host,
                smtp_port,
                "starttls",
                "" if applicable is None else applicable,
                mailbox["domain_name"],
                mailbox["status"],
                _flag(mailbox["smtp_auth_enabled"]),
                mailbox["id"],
            )
        )
    return tenant_guid, out.getvalue()


def _split_name(display_name: str) -> tuple[str, str]:
    """First word, and the rest: what sending tools put in their first/last name fields."""
    first, _, last = display_name.strip().partition(" ")
    return first, last.strip()


def _cell(text: str) -> str:
    return f"'{text}" if text.startswith(_FORMULA_STARTS) else text


def _flag(value: Any) -> str:
    return "" if value is None else ("true" if value else "false")
