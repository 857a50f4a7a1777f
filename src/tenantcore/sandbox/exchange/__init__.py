"""outlook.office365.com/adminapi — placeholder until the Exchange emulator lands."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from starlette.routing import Route

    from tenantcore.sandbox.context import Sandbox


def routes(sb: Sandbox) -> list[Route]:  # noqa: ARG001
    return []
