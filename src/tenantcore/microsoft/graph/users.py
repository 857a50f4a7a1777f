"""Entra users (wire reference 2.3-2.5): the accounts behind shared mailboxes."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from tenantcore.microsoft.graph.transport import GraphTransport
from tenantcore.microsoft.models import GraphUser

_USER_FIELDS = "id,userPrincipalName,displayName,mail,mailNickname,accountEnabled"


class UserOps(GraphTransport):
    async def get_user(self, tenant_id: str, id_or_upn: str, *, fresh: bool = False) -> GraphUser:
        """A user by object id or UPN; `fresh=True` retries replication-lag 404s."""
        body = await self.request(
            tenant_id,
            "GET",
            f"/users/{quote(id_or_upn)}",
            operation="GET /users/{id}",
            params={"$select": _USER_FIELDS},
            retry_not_found=fresh,
        )
        return GraphUser.model_validate(body)

    async def update_user(
        self,
        tenant_id: str,
        user_id: str,
        *,
        account_enabled: bool | None = None,
        password: str | None = None,
        user_principal_name: str | None = None,
        display_name: str | None = None,
        fresh: bool = False,
    ) -> None:
        """PATCH a user. A password is set without forcing a change and never expires.

        The password is sent to Microsoft only; it is never logged or kept.
        """
        patch: dict[str, Any] = {}
        if account_enabled is not None:
            patch["accountEnabled"] = account_enabled
        if password is not None:
            patch["passwordProfile"] = {
                "password": password,
                "forceChangePasswordNextSignIn": False,
            }
            patch["passwordPolicies"] = "DisablePasswordExpiration"
        if user_principal_name is not None:
            patch["userPrincipalName"] = user_principal_name
        if display_name is not None:
            patch["displayName"] = display_name
        await self.request(
            tenant_id,
            "PATCH",
            f"/users/{quote(user_id)}",
            operation="PATCH /users/{id}",
            json=patch,
            retry_not_found=fresh,
        )

    async def delete_user(self, tenant_id: str, user_id: str) -> None:
        await self.request(
            tenant_id, "DELETE", f"/users/{quote(user_id)}", operation="DELETE /users/{id}"
        )

    async def list_users_in_domain(self, tenant_id: str, domain: str) -> list[GraphUser]:
        """Users whose UPN ends with @domain (an advanced query: eventual consistency)."""
        rows = await self.collect(
            tenant_id,
            "/users",
            operation="GET /users",
            params={
                "$filter": f"endswith(userPrincipalName,'@{domain}')",
                "$count": "true",
                "$select": _USER_FIELDS,
                "$top": "999",
            },
            headers={"ConsistencyLevel": "eventual"},
        )
        return [GraphUser.model_validate(row) for row in rows]
