"""Sending application request and response bodies."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

# What the app asks its token for (a scope, not a secret).
TOKEN_SCOPE = "https://outlook.office365.com/.default"  # noqa: S105


class SendingAppSet(BaseModel):
    model_config = ConfigDict(extra="forbid")

    app_id: str = Field(
        description="The application (client) id of the customer's own Entra app, which has "
        "the Office 365 Exchange Online application permission SMTP.SendAsApp, admin-"
        "consented in this tenant.",
        max_length=100,
    )


class SendingAppOut(BaseModel):
    tenant_id: str
    app_id: str
    status: Literal["pending", "ready", "failed", "removing"] = Field(
        description="`pending`: being registered in Exchange and given the mailboxes. "
        "`ready`: holds FullAccess on every ready mailbox. `failed`: could not be registered "
        "(see `error`; PUT again once fixed). `removing`: being taken out of Exchange."
    )
    service_principal_id: str | None = Field(
        description="The app's service principal (object id) in the tenant, once found."
    )
    error: str | None = Field(
        description="Why the app could not be registered (`failed`), or which ready mailboxes "
        "Exchange no longer has and the app therefore lacks (`pending` or `ready`); null when "
        "nothing is wrong."
    )
    ready_mailboxes: int = Field(description="The tenant's ready mailboxes.")
    granted_mailboxes: int = Field(
        description="Ready mailboxes the app may send as (FullAccess in Exchange)."
    )
    admin_consent_url: str = Field(
        description="Where a Global Administrator of the tenant grants the app admin consent "
        "(the app's own redirect URI receives the answer); needed before it can be registered."
    )
    token_scope: str = Field(
        default=TOKEN_SCOPE,
        description="The scope the app asks its client-credentials token for; it logs in "
        "to SMTP with AUTH XOAUTH2 as `user=<mailbox address>`.",
    )
