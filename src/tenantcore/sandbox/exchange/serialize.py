"""Exchange's OData JSON for cmdlet output (wire reference 3.3).

Cmdlet handlers build rows of plain Python values; this module turns them into the wire form:
- `uuid.UUID` -> the GUID string with `@data.type: System.Guid` and `@odata.type: #Guid`;
- `datetime` -> 7 fractional digits and `+00:00` with `@data.type: System.DateTime`, or with a
  `Z` for properties whose name ends in `UTC`; `Zulu` forces the `Z` form (message trace);
- a list -> a JSON array with `@odata.type: #Collection(String)`;
- everything else (strings, numbers, booleans, null) as is.
Annotations precede their property, as in the captured responses.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenantcore.sandbox.timeutil import exchange_datetime, exchange_datetime_utc

Row = dict[str, Any]


@dataclass(frozen=True)
class Zulu:
    """A DateTime Exchange renders in UTC with a trailing Z whatever the property's name."""

    moment: datetime


def _wire_property(name: str, value: Any, out: dict[str, Any]) -> None:
    if isinstance(value, uuid.UUID):
        out[f"{name}@data.type"] = "System.Guid"
        out[f"{name}@odata.type"] = "#Guid"
        out[name] = str(value)
    elif isinstance(value, Zulu):
        out[f"{name}@data.type"] = "System.DateTime"
        out[name] = exchange_datetime_utc(value.moment)
    elif isinstance(value, datetime):
        out[f"{name}@data.type"] = "System.DateTime"
        utc = name.endswith("UTC")
        out[name] = exchange_datetime_utc(value) if utc else exchange_datetime(value)
    elif isinstance(value, list | tuple):
        out[f"{name}@odata.type"] = "#Collection(String)"
        out[name] = [str(item) for item in value]
    else:
        out[name] = value


def wire_row(row: Mapping[str, Any], select: Iterable[str] | None = None) -> dict[str, Any]:
    """One output object, projected to `select` (case-insensitive) when given."""
    wanted = None if select is None else {name.lower() for name in select}
    out: dict[str, Any] = {}
    for name, value in row.items():
        if wanted is None or name.lower() in wanted:
            _wire_property(name, value, out)
    return out


def parse_select(raw: str | None) -> list[str] | None:
    """The property names of a `$select` query option (None when absent or empty)."""
    if raw is None:
        return None
    names = [part.strip() for part in raw.split(",") if part.strip()]
    return names or None


def envelope(
    context_url: str,
    rows: list[dict[str, Any]],
    warnings: list[str],
    next_link: str | None = None,
) -> dict[str, Any]:
    """The success body: context, warnings (always present), `value` (always an array)."""
    body: dict[str, Any] = {
        "@odata.context": context_url,
        "adminapi.warnings@odata.type": "#Collection(String)",
        "@adminapi.warnings": list(warnings),
        "value": rows,
    }
    if next_link is not None:
        body["@odata.nextLink"] = next_link
    return body


def size_text(size_bytes: int) -> str:
    """Exchange's rendering of a ByteQuantifiedSize, e.g. `35 MB (36,700,160 bytes)`."""
    units = (("GB", 1 << 30), ("MB", 1 << 20), ("KB", 1 << 10))
    for unit, factor in units:
        if size_bytes >= factor:
            amount = size_bytes / factor
            shown = f"{amount:.1f}".rstrip("0").rstrip(".")
            return f"{shown} {unit} ({size_bytes:,} bytes)"
    return f"{size_bytes} B ({size_bytes:,} bytes)"
