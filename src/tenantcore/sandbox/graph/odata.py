"""OData query options as Graph reads them: `$filter` syntax, `$top`, `$skiptoken`, next links.

The `$filter` parser builds a small syntax tree; each resource decides which properties and
operators it supports (and which need advanced-query parameters) and how to evaluate them.
"""

from __future__ import annotations

import base64
import json
import re
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote

from tenantcore.sandbox.graph.common import GraphError, GraphRequest


@dataclass(frozen=True)
class Literal:
    """A literal operand. kind: string | bool | null | number | datetime."""

    kind: str
    value: Any


@dataclass(frozen=True)
class Comparison:
    prop: str
    op: str  # eq ne gt ge lt le
    value: Literal


@dataclass(frozen=True)
class Call:
    name: str  # lowercase: startswith endswith contains
    prop: str
    value: Literal


@dataclass(frozen=True)
class InList:
    prop: str
    values: tuple[Literal, ...]


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Junction:
    op: str  # and | or
    operands: tuple[Node, ...]


@dataclass(frozen=True)
class AnyOf:
    """`prop/any(var: body)`: inside `body`, the lambda variable stands for each element."""

    prop: str
    var: str
    body: Node


Node = Comparison | Call | InList | Not | Junction | AnyOf

_TOKEN = re.compile(
    r"""\s*(?:
      (?P<string>'(?:[^']|'')*')
     |(?P<datetime>\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?(?:Z|[+-]\d{2}:\d{2}))
     |(?P<number>-?\d+(?:\.\d+)?(?![\w-]))
     |(?P<punct>[(),:])
     |(?P<word>[A-Za-z_$][A-Za-z0-9_.$]*(?:/[A-Za-z_$][A-Za-z0-9_.$]*)*)
    )""",
    re.VERBOSE,
)
_COMPARISONS = frozenset({"eq", "ne", "gt", "ge", "lt", "le"})
_FUNCTIONS = frozenset({"startswith", "endswith", "contains"})


def filter_syntax_error(text: str, position: int) -> GraphError:
    return GraphError(
        400,
        "BadRequest",
        f"Invalid filter clause: syntax error at position {position} in '{text}'.",
    )


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.tokens: list[tuple[str, str, int]] = []
        position = 0
        while position < len(text):
            if text[position:].strip() == "":
                break
            match = _TOKEN.match(text, position)
            if match is None or match.lastgroup is None:
                raise filter_syntax_error(text, position)
            kind = match.lastgroup
            self.tokens.append((kind, match.group(kind), match.start(kind)))
            position = match.end()
        self.index = 0

    def _peek(self) -> tuple[str, str, int] | None:
        return self.tokens[self.index] if self.index < len(self.tokens) else None

    def _error(self) -> GraphError:
        token = self._peek()
        return filter_syntax_error(self.text, len(self.text) if token is None else token[2])

    def _next(self) -> tuple[str, str, int]:
        token = self._peek()
        if token is None:
            raise self._error()
        self.index += 1
        return token

    def _expect(self, value: str) -> None:
        kind, text, _ = self._next()
        if kind != "punct" or text != value:
            self.index -= 1
            raise self._error()

    def _word_is(self, *words: str) -> bool:
        token = self._peek()
        return token is not None and token[0] == "word" and token[1].lower() in words

    def parse(self) -> Node:
        node = self._or()
        if self._peek() is not None:
            raise self._error()
        return node

    def _or(self) -> Node:
        operands = [self._and()]
        while self._word_is("or"):
            self.index += 1
            operands.append(self._and())
        return operands[0] if len(operands) == 1 else Junction("or", tuple(operands))

    def _and(self) -> Node:
        operands = [self._unary()]
        while self._word_is("and"):
            self.index += 1
            operands.append(self._unary())
        return operands[0] if len(operands) == 1 else Junction("and", tuple(operands))

    def _unary(self) -> Node:
        if self._word_is("not"):
            self.index += 1
            return Not(self._unary())
        token = self._peek()
        if token is not None and token[1] == "(":
            self.index += 1
            node = self._or()
            self._expect(")")
            return node
        return self._primary()

    def _primary(self) -> Node:
        kind, word, _ = self._next()
        if kind != "word":
            self.index -= 1
            raise self._error()
        if word.lower() in _FUNCTIONS:
            self._expect("(")
            prop = self._property()
            self._expect(",")
            value = self._literal()
            self._expect(")")
            return Call(word.lower(), prop, value)
        if word.lower().endswith("/any"):
            self._expect("(")
            var = self._property()
            self._expect(":")
            body = self._or()
            self._expect(")")
            return AnyOf(word[: -len("/any")], var, body)
        if self._word_is("in"):
            self.index += 1
            self._expect("(")
            values = [self._literal()]
            while self._peek() is not None and self._peek()[1] == ",":  # type: ignore[index]
                self.index += 1
                values.append(self._literal())
            self._expect(")")
            return InList(word, tuple(values))
        op_kind, op, _ = self._next()
        if op_kind != "word" or op.lower() not in _COMPARISONS:
            self.index -= 1
            raise self._error()
        return Comparison(word, op.lower(), self._literal())

    def _property(self) -> str:
        kind, word, _ = self._next()
        if kind != "word":
            self.index -= 1
            raise self._error()
        return word

    def _literal(self) -> Literal:
        kind, text, _ = self._next()
        if kind == "string":
            return Literal("string", text[1:-1].replace("''", "'"))
        if kind == "datetime":
            return Literal("datetime", text)
        if kind == "number":
            return Literal("number", float(text) if "." in text else int(text))
        if kind == "word" and text.lower() in ("true", "false"):
            return Literal("bool", text.lower() == "true")
        if kind == "word" and text.lower() == "null":
            return Literal("null", None)
        self.index -= 1
        raise self._error()


def parse_filter(text: str) -> Node:
    """Parse a `$filter` expression, or raise Graph's 400 for a syntax error."""
    if not text.strip():
        raise filter_syntax_error(text, 0)
    return _Parser(text).parse()


def parse_top(request: GraphRequest, *, default: int, maximum: int) -> int:
    raw = request.option("$top")
    if raw is None:
        return default
    try:
        value = int(raw)
    except ValueError:
        value = -1
    if not 1 <= value <= maximum:
        raise GraphError(
            400,
            "Request_BadRequest",
            f"Invalid page size specified: '{raw}'. Must be between 1 and {maximum} inclusive.",
        )
    return value


def encode_skiptoken(values: list[Any]) -> str:
    raw = json.dumps(values, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_skiptoken(token: str, length: int) -> list[Any]:
    """The cursor a next link carries, or Graph's 400 for a token we never issued."""
    try:
        values = json.loads(base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)))
    except (ValueError, json.JSONDecodeError):
        values = None
    if not isinstance(values, list) or len(values) != length:
        raise GraphError(
            400, "Request_BadRequest", "The specified page token value is invalid or has expired."
        )
    return values


_QUERY_SAFE = "$'(),:@*"
_PATH_SAFE = "/$@()',=:"


def next_link(request: GraphRequest, token: str) -> str:
    """The request's own URL with `$skiptoken` replaced, as Graph's `@odata.nextLink` is."""
    kept = [(k, v) for k, v in request.query if k.lower() != "$skiptoken"]
    kept.append(("$skiptoken", token))
    query = "&".join(f"{quote(k, safe='$')}={quote(v, safe=_QUERY_SAFE)}" for k, v in kept)
    return f"{request.base_url}/v1.0{quote(request.path, safe=_PATH_SAFE)}?{query}"
