"""Cmdlet declarations and parameter binding.

Every cmdlet the emulator answers is a `Cmdlet`: its canonical name, its parameters (each with a
converter that turns the JSON value into a Python value or raises the error PowerShell's binder
would), and a synchronous handler run inside one store transaction. Names of cmdlets and
parameters are matched case-insensitively, as Exchange does.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

from tenantcore.sandbox.directory import is_dehydrated
from tenantcore.sandbox.exchange import errors

if TYPE_CHECKING:
    from tenantcore.sandbox.context import Sandbox
    from tenantcore.sandbox.store import Row

Converter = Callable[[str, Any], Any]

# PowerShell's common parameters: accepted on every cmdlet and without effect over REST.
COMMON_PARAMETERS = frozenset(
    {
        "confirm",
        "erroraction",
        "warningaction",
        "informationaction",
        "verbose",
        "debug",
        "domaincontroller",
    }
)


@dataclass(frozen=True)
class Param:
    name: str
    convert: Converter
    required: bool = False


@dataclass
class CmdletContext:
    """What a handler may use: the sandbox, the tenant row, and one `now` for the call."""

    sb: Sandbox
    tenant: Row
    now: datetime

    @property
    def tenant_id(self) -> str:
        return str(self.tenant["id"])

    @property
    def initial_domain(self) -> str:
        return str(self.tenant["initial_domain"])

    def require_hydrated(self) -> None:
        """Cmdlets gated on Enable-OrganizationCustomization (wire reference 3.6, 4.1)."""
        tenant = self.sb.store.one("SELECT * FROM tenant WHERE id = ?", (self.tenant_id,))
        if tenant is not None and is_dehydrated(self.sb, tenant):
            raise errors.dehydrated()


@dataclass
class CmdletResult:
    rows: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


Handler = Callable[[CmdletContext, dict[str, Any]], CmdletResult]


@dataclass(frozen=True)
class Cmdlet:
    name: str
    handler: Handler
    params: tuple[Param, ...] = ()
    # Row-returning cmdlets are paged with @odata.nextLink; others answer in one response.
    paged: bool = False

    def bind(self, raw: Mapping[str, Any]) -> dict[str, Any]:
        """Map the request's parameters onto this cmdlet's, converting each value."""
        by_name = {param.name.lower(): param for param in self.params}
        bound: dict[str, Any] = {}
        unknown: list[str] = []
        for given, value in raw.items():
            param = by_name.get(given.lower())
            if param is None:
                if given.lower() not in COMMON_PARAMETERS:
                    unknown.append(given)
                continue
            bound[param.name] = param.convert(param.name, value)
        if unknown:
            raise errors.unknown_parameters(unknown)
        missing = [p.name for p in self.params if p.required and p.name not in bound]
        if missing:
            raise errors.missing_parameters(missing)
        return bound


class Registry:
    """Cmdlets by lower-case name."""

    def __init__(self, cmdlets: Iterable[Cmdlet]) -> None:
        self._by_name: dict[str, Cmdlet] = {}
        for cmdlet in cmdlets:
            key = cmdlet.name.lower()
            if key in self._by_name:
                raise ValueError(f"cmdlet {cmdlet.name} declared twice")
            self._by_name[key] = cmdlet

    def get(self, name: str) -> Cmdlet | None:
        return self._by_name.get(name.strip().lower())
