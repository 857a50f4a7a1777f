"""Parameter converters: JSON values to Python values, with PowerShell's binding errors.

Each factory returns a `Converter(parameter_name, raw_value)`. A JSON `null` is refused unless
the converter is `nullable` (PowerShell's `$null`, e.g. `Set-CASMailbox
-SmtpClientAuthenticationDisabled $null`, or clearing a rule condition).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tenantcore.sandbox.exchange import errors
from tenantcore.sandbox.exchange.registry import Converter
from tenantcore.sandbox.timeutil import parse

UNLIMITED = "Unlimited"
_TRUE = {"true", "$true", "1"}
_FALSE = {"false", "$false", "0"}


def _refuse_null(name: str, value: Any, nullable: bool) -> bool:
    """True when the value is null and allowed to be; raise if it is null and not allowed."""
    if value is not None:
        return False
    if nullable:
        return True
    raise errors.null_argument(name)


def text(*, nullable: bool = False) -> Converter:
    def convert(name: str, value: Any) -> str | None:
        if _refuse_null(name, value, nullable):
            return None
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise errors.cannot_convert(name, value, "System.String", "Not a string value.")
        return str(value)

    return convert


def identity() -> Converter:
    """An identity parameter: a non-empty string (address, name, alias or GUID)."""

    def convert(name: str, value: Any) -> str:
        result = text()(name, value)
        if not str(result).strip():
            raise errors.null_argument(name)
        return str(result).strip()

    return convert


def boolean(*, nullable: bool = False) -> Converter:
    def convert(name: str, value: Any) -> bool | None:
        if _refuse_null(name, value, nullable):
            return None
        if isinstance(value, bool):
            return value
        lowered = str(value).strip().lower()
        if isinstance(value, int | str) and lowered in _TRUE | _FALSE:
            return lowered in _TRUE
        raise errors.cannot_convert(
            name,
            value,
            "System.Boolean",
            "Boolean parameters accept only Boolean values and numbers, such as $True, $False,"
            " 1 or 0.",
        )

    return convert


def switch() -> Converter:
    """A switch parameter: `true` sets it (CIPP sends `"Shared": true`)."""
    return boolean()


def integer(low: int, high: int, *, type_name: str = "System.Int32") -> Converter:
    def convert(name: str, value: Any) -> int:
        if value is None:
            raise errors.null_argument(name)
        number = _as_int(name, value, type_name)
        if not low <= number <= high:
            raise errors.out_of_range(name, number, low, high)
        return number

    return convert


def _as_int(name: str, value: Any, type_name: str) -> int:
    if isinstance(value, bool):
        raise errors.cannot_convert(name, value, type_name, "Not a number.")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and value.strip().lstrip("+-").isdigit():
        return int(value.strip())
    raise errors.cannot_convert(name, value, type_name, "Input string was not in a correct format.")


def result_size(high: int | None = None) -> Converter:
    """`ResultSize`: a positive number or `Unlimited` (None); `high` caps the number."""

    def convert(name: str, value: Any) -> int | None:
        if isinstance(value, str) and value.strip().lower() == UNLIMITED.lower():
            if high is not None:
                raise errors.cannot_convert(
                    name, value, "System.Int32", "Input string was not in a correct format."
                )
            return None
        number = _as_int(name, value, "Microsoft.Exchange.Data.Unlimited`1[System.UInt32]")
        if number < 1 or (high is not None and number > high):
            raise errors.out_of_range(name, number, 1, high or 2**31 - 1)
        return number

    return convert


def choice(choices: tuple[str, ...], type_name: str, *, nullable: bool = False) -> Converter:
    """An enum: matched case-insensitively, returned in its canonical spelling."""
    canonical = {option.lower(): option for option in choices}

    def convert(name: str, value: Any) -> str | None:
        if _refuse_null(name, value, nullable):
            return None
        found = canonical.get(str(value).strip().lower()) if isinstance(value, str) else None
        if found is None:
            raise errors.bad_enum(name, value, type_name, choices)
        return found

    return convert


def text_list(*, nullable: bool = False) -> Converter:
    """A multi-valued parameter: a JSON array, or one scalar taken as a one-item list."""

    def convert(name: str, value: Any) -> list[str] | None:
        if _refuse_null(name, value, nullable):
            return None
        items = value if isinstance(value, list) else [value]
        result: list[str] = []
        for item in items:
            if isinstance(item, bool) or not isinstance(item, str | int | float):
                raise errors.cannot_convert(
                    name, value, "Microsoft.Exchange.Data.MultiValuedProperty", "Not a string."
                )
            if str(item).strip():
                result.append(str(item).strip())
        return result

    return convert


def choice_list(choices: tuple[str, ...], type_name: str) -> Converter:
    single = choice(choices, type_name)

    def convert(name: str, value: Any) -> list[str]:
        items = value if isinstance(value, list) else [value]
        return [str(single(name, item)) for item in items]

    return convert


def date_time() -> Converter:
    def convert(name: str, value: Any) -> datetime:
        if not isinstance(value, str):
            raise errors.cannot_convert(
                name, value, "System.DateTime", "String was not recognized as a valid DateTime."
            )
        try:
            return parse(value)
        except ValueError:
            raise errors.cannot_convert(
                name, value, "System.DateTime", "String was not recognized as a valid DateTime."
            ) from None

    return convert


@dataclass(frozen=True)
class MultiValueChange:
    """A multi-valued parameter given either as a full list or as an Add/Remove hashtable."""

    replace: list[str] | None = None
    add: tuple[str, ...] = ()
    remove: tuple[str, ...] = ()


def multi_value_change() -> Converter:
    """`-EmailAddresses x,y` or `@{Add=...; Remove=...}` (`#Exchange.GenericHashTable`)."""
    as_list = text_list()

    def convert(name: str, value: Any) -> MultiValueChange:
        if isinstance(value, dict):
            keys = {key.lower(): key for key in value if not key.startswith("@")}
            unknown = set(keys) - {"add", "remove"}
            if unknown:
                raise errors.cannot_convert(
                    name,
                    value,
                    "Microsoft.Exchange.Data.ProxyAddressCollection",
                    "Only the keys Add and Remove are supported in a hashtable.",
                )
            add = as_list(name, value[keys["add"]]) if "add" in keys else []
            remove = as_list(name, value[keys["remove"]]) if "remove" in keys else []
            return MultiValueChange(add=tuple(add or ()), remove=tuple(remove or ()))
        return MultiValueChange(replace=list(as_list(name, value) or []))

    return convert
