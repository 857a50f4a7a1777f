"""The sandbox's on-disk model (SQLite). One statement list, applied idempotently at start.

Conventions every module relies on:
- timestamps are TEXT in `timeutil.iso()` form (UTC, microseconds, trailing Z), so they sort;
- GUIDs are lowercase TEXT; e-mail addresses and domains are stored lowercase except where a
  display form is kept (`primary_smtp_address` keeps the caller's case, lookups use `NOCASE`);
- JSON columns hold lists/objects whose shapes are documented per table below.
"""

from __future__ import annotations

import json

from tenantcore.sandbox.licensing import DEFAULT_SUBSCRIPTIONS

SCHEMA_VERSION = 1

# Tenants written before subscriptions were modelled get the default one (licensing.py).
DEFAULT_SUBSCRIPTIONS_JSON = json.dumps(list(DEFAULT_SUBSCRIPTIONS), separators=(",", ":"))

# Columns added to a table after sandbox files were first written: (table, column, definition).
# New files get them from CREATE TABLE below; the store adds them to older files at start, so a
# data directory survives an upgrade.
ADDED_COLUMNS: tuple[tuple[str, str, str], ...] = (
    ("tenant", "banned_passwords", "TEXT NOT NULL DEFAULT '[]'"),
    ("tenant", "conditional_access_policies", "TEXT NOT NULL DEFAULT '[]'"),
    ("tenant", "subscriptions", f"TEXT NOT NULL DEFAULT '{DEFAULT_SUBSCRIPTIONS_JSON}'"),
    ("tenant", "basic_auth_disabled", "INTEGER NOT NULL DEFAULT 0"),
)

STATEMENTS: tuple[str, ...] = (
    "CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # An Entra application (multi-tenant); consented into tenants through `consent`.
    """CREATE TABLE IF NOT EXISTS app (
        client_id TEXT PRIMARY KEY,
        secret_hash TEXT NOT NULL,
        display_name TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS tenant (
        id TEXT PRIMARY KEY,
        display_name TEXT NOT NULL,
        initial_domain TEXT NOT NULL UNIQUE COLLATE NOCASE,
        is_dehydrated INTEGER NOT NULL,
        -- set by Enable-OrganizationCustomization: the org stops being dehydrated at this time
        customization_ready_at TEXT,
        -- org-level Set-TransportConfig -SmtpClientAuthenticationDisabled (true by default
        -- for organizations created after January 2020)
        smtp_auth_disabled INTEGER NOT NULL DEFAULT 1,
        security_defaults_enabled INTEGER NOT NULL DEFAULT 0,
        -- Basic authentication for SMTP AUTH turned off (Microsoft's default for existing
        -- tenants after December 2026): LOGIN/PLAIN refused with 5.7.30, XOAUTH2 unaffected
        basic_auth_disabled INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        -- commercial subscriptions, a JSON list (licensing.py): they set the tenant's
        -- external recipient rate limit
        subscriptions TEXT NOT NULL DEFAULT '"""
    + DEFAULT_SUBSCRIPTIONS_JSON
    + """',
        -- Password Protection's custom banned password list: a JSON list of terms
        banned_passwords TEXT NOT NULL DEFAULT '[]',
        -- Conditional Access policies, a JSON list in Graph's shape (conditional_access.py)
        conditional_access_policies TEXT NOT NULL DEFAULT '[]'
    )""",
    # roles_graph / roles_exchange: JSON lists of application roles put into tokens.
    """CREATE TABLE IF NOT EXISTS consent (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        client_id TEXT NOT NULL REFERENCES app(client_id) ON DELETE CASCADE,
        roles_graph TEXT NOT NULL,
        roles_exchange TEXT NOT NULL,
        PRIMARY KEY (tenant_id, client_id)
    )""",
    # supported_services: JSON list of strings, e.g. ["Email"].
    """CREATE TABLE IF NOT EXISTS domain (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        is_verified INTEGER NOT NULL DEFAULT 0,
        is_initial INTEGER NOT NULL DEFAULT 0,
        is_default INTEGER NOT NULL DEFAULT 0,
        supported_services TEXT NOT NULL DEFAULT '[]',
        verification_code TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, name)
    )""",
    # Public DNS, global like the real thing: one zone per domain, replaced as a whole.
    # type: TXT | MX | CNAME | A ; name: '@' for the apex or a label relative to the domain.
    """CREATE TABLE IF NOT EXISTS dns_record (
        domain TEXT NOT NULL COLLATE NOCASE,
        type TEXT NOT NULL,
        name TEXT NOT NULL,
        value TEXT NOT NULL,
        preference INTEGER,
        ttl INTEGER NOT NULL DEFAULT 3600
    )""",
    "CREATE INDEX IF NOT EXISTS ix_dns_record_domain ON dns_record(domain)",
    # DKIM signing configurations of custom domains (New-DkimSigningConfig); the CNAME targets
    # are derived from the domain, the initial domain and `partition`.
    """CREATE TABLE IF NOT EXISTS dkim_signing_config (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        domain TEXT NOT NULL COLLATE NOCASE,
        enabled INTEGER NOT NULL DEFAULT 0,
        partition TEXT NOT NULL,
        key_size INTEGER NOT NULL DEFAULT 2048,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, domain)
    )""",
    # Entra users (the Graph view). password_hash: `passwords.hash_password` output, never
    # the password.
    """CREATE TABLE IF NOT EXISTS directory_user (
        id TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        user_principal_name TEXT NOT NULL COLLATE NOCASE,
        display_name TEXT NOT NULL,
        mail_nickname TEXT NOT NULL,
        mail TEXT,
        account_enabled INTEGER NOT NULL,
        password_hash TEXT,
        password_policies TEXT,
        force_change_password INTEGER NOT NULL DEFAULT 0,
        created_at TEXT NOT NULL,
        -- JSON object of optional Graph profile properties set by POST/PATCH /users
        -- (givenName, surname, jobTitle, usageLocation, businessPhones, ...).
        profile TEXT NOT NULL DEFAULT '{}',
        UNIQUE (tenant_id, user_principal_name)
    )""",
    # Exchange recipients with a mailbox, linked to their user by user_id
    # (= ExternalDirectoryObjectId). email_addresses: JSON list like
    # ["SMTP:a@d.com", "smtp:a@t.onmicrosoft.com"]. smtp_auth_disabled: NULL inherits the org.
    # ready_at: propagation finished (SMTP login works from then on).
    """CREATE TABLE IF NOT EXISTS mailbox (
        guid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        user_id TEXT NOT NULL UNIQUE REFERENCES directory_user(id) ON DELETE CASCADE,
        exchange_guid TEXT NOT NULL,
        name TEXT NOT NULL COLLATE NOCASE,
        alias TEXT NOT NULL COLLATE NOCASE,
        display_name TEXT NOT NULL,
        primary_smtp_address TEXT NOT NULL COLLATE NOCASE,
        email_addresses TEXT NOT NULL,
        recipient_type_details TEXT NOT NULL,
        smtp_auth_disabled INTEGER,
        recipient_limits INTEGER NOT NULL DEFAULT 500,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        ready_at TEXT NOT NULL,
        UNIQUE (tenant_id, name),
        UNIQUE (tenant_id, alias)
    )""",
    # Every proxy address in a tenant, whoever owns it (mailbox or group): the uniqueness
    # Exchange enforces with ProxyAddressExistsException. owner_kind: mailbox | group.
    """CREATE TABLE IF NOT EXISTS proxy_address (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        address TEXT NOT NULL COLLATE NOCASE,
        owner_kind TEXT NOT NULL,
        owner_guid TEXT NOT NULL,
        PRIMARY KEY (tenant_id, address)
    )""",
    # Mail-enabled groups. group_type: Security | Distribution.
    """CREATE TABLE IF NOT EXISTS distribution_group (
        guid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        alias TEXT NOT NULL COLLATE NOCASE,
        display_name TEXT NOT NULL,
        primary_smtp_address TEXT NOT NULL COLLATE NOCASE,
        group_type TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        UNIQUE (tenant_id, name),
        UNIQUE (tenant_id, alias)
    )""",
    # member_guid: a mailbox guid.
    """CREATE TABLE IF NOT EXISTS group_member (
        group_guid TEXT NOT NULL REFERENCES distribution_group(guid) ON DELETE CASCADE,
        member_guid TEXT NOT NULL REFERENCES mailbox(guid) ON DELETE CASCADE,
        PRIMARY KEY (group_guid, member_guid)
    )""",
    # conditions: JSON object with any of
    #   "From": [lowercase addresses], "FromMemberOf": [group guids], "SenderDomainIs": [domains],
    #   "FromScope": "InOrganization"|"NotInOrganization", "SentToScope": same values,
    #   and "ExceptIfFrom" / "ExceptIfFromMemberOf" / "ExceptIfSenderDomainIs".
    # actions: JSON object with any of "RejectMessageReasonText": str,
    #   "RejectMessageEnhancedStatusCode": str, "DeleteMessage": bool, "StopRuleProcessing": bool.
    # state: Enabled | Disabled ; mode: Enforce | Audit | AuditAndNotify ; priority 0 = first.
    """CREATE TABLE IF NOT EXISTS transport_rule (
        guid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        priority INTEGER NOT NULL,
        state TEXT NOT NULL DEFAULT 'Enabled',
        mode TEXT NOT NULL DEFAULT 'Enforce',
        comments TEXT,
        conditions TEXT NOT NULL,
        actions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        UNIQUE (tenant_id, name)
    )""",
    # Outbound spam filter policies. Every tenant has one is_default row named 'Default'.
    # action: Alert | BlockUserForToday | BlockUser. Limits: 0 = service default.
    """CREATE TABLE IF NOT EXISTS spam_policy (
        guid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        is_default INTEGER NOT NULL DEFAULT 0,
        recipient_limit_per_day INTEGER NOT NULL DEFAULT 0,
        recipient_limit_external_per_hour INTEGER NOT NULL DEFAULT 0,
        recipient_limit_internal_per_hour INTEGER NOT NULL DEFAULT 0,
        action TEXT NOT NULL DEFAULT 'BlockUserForToday',
        auto_forwarding_mode TEXT NOT NULL DEFAULT 'Automatic',
        admin_display_name TEXT,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        UNIQUE (tenant_id, name)
    )""",
    # One rule binds one non-default policy (policy_name). conditions as for transport_rule
    # (From / FromMemberOf / SenderDomainIs and their ExceptIf variants).
    """CREATE TABLE IF NOT EXISTS spam_rule (
        guid TEXT PRIMARY KEY,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        name TEXT NOT NULL COLLATE NOCASE,
        policy_name TEXT NOT NULL COLLATE NOCASE,
        priority INTEGER NOT NULL,
        enabled INTEGER NOT NULL DEFAULT 1,
        comments TEXT,
        conditions TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        UNIQUE (tenant_id, name)
    )""",
    # Restricted senders. expires_at: NULL = until removed (BlockUser); else the next UTC
    # midnight (BlockUserForToday). lifted_day: a BlockUser removal exempts that UTC day.
    """CREATE TABLE IF NOT EXISTS blocked_sender (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        sender_address TEXT NOT NULL COLLATE NOCASE,
        reason TEXT NOT NULL,
        created_at TEXT NOT NULL,
        changed_at TEXT NOT NULL,
        expires_at TEXT,
        PRIMARY KEY (tenant_id, sender_address)
    )""",
    # Days on which an admin lifted a BlockUser restriction: not restricted again that day.
    """CREATE TABLE IF NOT EXISTS block_exemption (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        sender_address TEXT NOT NULL COLLATE NOCASE,
        day TEXT NOT NULL,
        PRIMARY KEY (tenant_id, sender_address, day)
    )""",
    # Recipients and messages accepted per sender per UTC day (day = 'YYYY-MM-DD').
    """CREATE TABLE IF NOT EXISTS send_counter (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        sender_address TEXT NOT NULL COLLATE NOCASE,
        day TEXT NOT NULL,
        recipients INTEGER NOT NULL DEFAULT 0,
        messages INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (tenant_id, sender_address, day)
    )""",
    # Message trace: one row per recipient. status: Delivered | Failed | FilteredAsSpam | ...
    # visible_at: rows are invisible to queries before it (Microsoft's 5-10 min lag).
    """CREATE TABLE IF NOT EXISTS trace (
        message_trace_id TEXT NOT NULL,
        recipient_address TEXT NOT NULL COLLATE NOCASE,
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        message_id TEXT NOT NULL,
        sender_address TEXT NOT NULL COLLATE NOCASE,
        subject TEXT NOT NULL,
        status TEXT NOT NULL,
        size INTEGER NOT NULL,
        from_ip TEXT NOT NULL,
        to_ip TEXT NOT NULL,
        received TEXT NOT NULL,
        visible_at TEXT NOT NULL,
        PRIMARY KEY (message_trace_id, recipient_address)
    )""",
    "CREATE INDEX IF NOT EXISTS ix_trace_tenant_received ON trace(tenant_id, received)",
    # Exchange's references to Entra service principals (New-ServicePrincipal): what mailbox
    # permissions and RBAC name an application by. object_id is the Entra object id.
    """CREATE TABLE IF NOT EXISTS service_principal (
        tenant_id TEXT NOT NULL REFERENCES tenant(id) ON DELETE CASCADE,
        object_id TEXT NOT NULL COLLATE NOCASE,
        app_id TEXT NOT NULL COLLATE NOCASE,
        display_name TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (tenant_id, object_id),
        UNIQUE (tenant_id, app_id)
    )""",
    # Add-MailboxPermission grants; trustee is a service principal's object id (the only
    # trustee the sandbox models). access_right: FullAccess.
    """CREATE TABLE IF NOT EXISTS mailbox_permission (
        mailbox_guid TEXT NOT NULL REFERENCES mailbox(guid) ON DELETE CASCADE,
        trustee TEXT NOT NULL COLLATE NOCASE,
        access_right TEXT NOT NULL,
        created_at TEXT NOT NULL,
        PRIMARY KEY (mailbox_guid, trustee, access_right)
    )""",
)
