"""The OPATH subset `-Filter` needs: comparisons joined by -and/-or/-not and parentheses.

Supported operators: -eq, -ne, -like, -notlike (case-insensitive, `*` wildcards for -like).
Values: 'single' or "double" quoted strings, $true, $false, $null, or a bare word. A
multi-valued property (EmailAddresses) matches -eq/-like when any of its values does; a proxy
address also matches without its `smtp:` prefix, so both `EmailAddresses -eq 'a@d.com'` and
`EmailAddresses -like '*@d.com'` work as in Exchange.
"""

from __future__ import annotations

import fnmatch
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from tenantcore.sandbox.exchange import errors

Predicate = Callable[[Mapping[str, Any]], bool]

_TOKEN = re.compile(
    r"\s*(?:(?P<paren>[()])|'(?P<sq>(?:[^']|'')*)'|\"(?P<dq>(?:[^\"]|\"\")*)\""
    r"|(?P<word>[^\s()'\"]+))"
)
_COMPARISONS = ("-eq", "-ne", "-like", "-notlike")


@dataclass(frozen=True)
class _Token:
    kind: str  # paren | string | word
    text: str
    position: int


class FilterSyntaxError(Exception):
    pass


def _tokens(source: str) -> list[_Token]:
    tokens: list[_Token] = []
    position = 0
    while position < len(source):
        if source[position:].strip() == "":
            break
        match = _TOKEN.match(source, position)
        if match is None:
            raise FilterSyntaxError(str(position))
        start = match.start(match.lastgroup or 0)
        if match.group("paren") is not None:
            tokens.append(_Token("paren", match.group("paren"), start))
        elif match.group("sq") is not None:
            tokens.append(_Token("string", match.group("sq").replace("''", "'"), start))
        elif match.group("dq") is not None:
            tokens.append(_Token("string", match.group("dq").replace('""', '"'), start))
        else:
            tokens.append(_Token("word", match.group("word"), start))
        position = match.end()
    return tokens


class _Parser:
    def __init__(self, source: str, properties: Mapping[str, str]) -> None:
        self.tokens = _tokens(source)
        self.index = 0
        self.properties = properties
        self.length = len(source)

    def _peek(self) -> _Token | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _take(self) -> _Token:
        token = self._peek()
        if token is None:
            raise FilterSyntaxError(str(self.length))
        self.index += 1
        return token

    def _keyword(self, word: str) -> bool:
        token = self._peek()
        if token is not None and token.kind == "word" and token.text.lower() == word:
            self.index += 1
            return True
        return False

    def parse(self) -> Predicate:
        predicate = self._or()
        leftover = self._peek()
        if leftover is not None:
            raise FilterSyntaxError(str(leftover.position))
        return predicate

    def _or(self) -> Predicate:
        parts = [self._and()]
        while self._keyword("-or"):
            parts.append(self._and())
        if len(parts) == 1:
            return parts[0]
        return lambda row: any(part(row) for part in parts)

    def _and(self) -> Predicate:
        parts = [self._unary()]
        while self._keyword("-and"):
            parts.append(self._unary())
        if len(parts) == 1:
            return parts[0]
        return lambda row: all(part(row) for part in parts)

    def _unary(self) -> Predicate:
        if self._keyword("-not"):
            inner = self._unary()
            return lambda row: not inner(row)
        token = self._peek()
        if token is not None and token.kind == "paren" and token.text == "(":
            self.index += 1
            inner = self._or()
            closing = self._take()
            if closing.kind != "paren" or closing.text != ")":
                raise FilterSyntaxError(str(closing.position))
            return inner
        return self._comparison()

    def _comparison(self) -> Predicate:
        prop_token = self._take()
        if prop_token.kind != "word":
            raise FilterSyntaxError(str(prop_token.position))
        prop = self.properties.get(prop_token.text.lower())
        if prop is None:
            raise errors.CmdletError(
                400,
                errors.PARAMETER_BINDING,
                "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\":"
                f' ""{prop_token.text}" is not a recognized filterable property. For a'
                ' description of the filterable properties see the command help."',
                "parameter_set",
            )
        operator = self._take()
        if operator.kind != "word" or operator.text.lower() not in _COMPARISONS:
            raise FilterSyntaxError(str(operator.position))
        value_token = self._take()
        if value_token.kind == "paren":
            raise FilterSyntaxError(str(value_token.position))
        value: str | None = value_token.text
        if value_token.kind == "word" and value_token.text.lower() == "$null":
            value = None
        elif value_token.kind == "word" and value_token.text.lower() in ("$true", "$false"):
            value = value_token.text.lower()[1:]
        return _compare(prop, operator.text.lower(), value)


def _candidates(value: Any) -> list[str]:
    """The strings a property value offers to a comparison."""
    if value is None:
        return []
    items = value if isinstance(value, list | tuple) else [value]
    out: list[str] = []
    for item in items:
        text = str(item).lower()
        out.append(text)
        prefix, sep, rest = text.partition(":")
        if sep and prefix in ("smtp", "x500", "sip", "spo") and rest:
            out.append(rest)
    return out


def _compare(prop: str, operator: str, wanted: str | None) -> Predicate:
    def holds(row: Mapping[str, Any]) -> bool:
        values = _candidates(row.get(prop))
        if wanted is None:
            present = bool(values)
            return not present if operator in ("-eq", "-like") else present
        target = wanted.lower()
        if operator in ("-eq", "-ne"):
            hit = target in values
        else:
            hit = any(fnmatch.fnmatchcase(value, target) for value in values)
        return hit if operator in ("-eq", "-like") else not hit

    return holds


def compile_filter(source: str, properties: Mapping[str, str]) -> Predicate:
    """Compile `source`; `properties` maps lower-case filterable names to row keys."""
    try:
        return _Parser(source, properties).parse()
    except FilterSyntaxError as exc:
        raise errors.CmdletError(
            400,
            errors.PARAMETER_BINDING,
            "Cannot bind parameter 'Filter' to the target. Exception setting \"Filter\":"
            ' "Invalid filter syntax. For a description of the filter parameter syntax see the'
            f' command help.\n"{source}" at position {int(str(exc)) + 1}."',
            "parameter_set",
        ) from None
