"""Helpers for what the OpenAPI document says about request fields."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def accepts(schema: dict[str, Any]) -> Callable[[dict[str, Any]], None]:
    """`json_schema_extra` for a field typed `Any` so that the service, not the framework,
    refuses a bad value with the seed's own code: the OpenAPI schema still says what is
    accepted (and drops the placeholder default, which is not a value one may send)."""

    def document(field_schema: dict[str, Any]) -> None:
        field_schema.pop("default", None)
        field_schema.update(schema)

    return document
