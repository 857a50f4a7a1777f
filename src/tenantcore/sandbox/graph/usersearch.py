"""`$search` over users (an advanced query): `"property:term"` clauses joined by AND / OR.

Like Entra's tokenized search, a term matches when the property value, or any word in it,
starts with the term (case-insensitively).
"""

from __future__ import annotations

import re
from typing import Any

from tenantcore.sandbox.graph.common import GraphError
from tenantcore.sandbox.graph.userquery import canonical

SEARCHABLE = frozenset(
    {"displayName", "givenName", "surname", "mail", "userPrincipalName", "mailNickname", "jobTitle"}
)
_CLAUSE = re.compile(r'\s*"([^"]*)"\s*(?:(AND|OR)\b|$)', re.IGNORECASE)
_WORD = re.compile(r"[^\W_]+")


def _parse(raw: str) -> list[tuple[str, str, str]]:
    """(joining operator, property, term) per clause; the first operator is AND."""
    clauses: list[tuple[str, str, str]] = []
    position = 0
    joiner = "AND"
    text = raw.strip()
    while position < len(text):
        match = _CLAUSE.match(text, position)
        if match is None or ":" not in match.group(1):
            raise GraphError(400, "BadRequest", f"Syntax error: invalid $search clause in '{raw}'.")
        prop_text, _, term = match.group(1).partition(":")
        prop = canonical(prop_text)
        if prop not in SEARCHABLE:
            raise GraphError(
                400,
                "Request_UnsupportedQuery",
                f"Unsupported or invalid query filter clause specified for property"
                f" '{prop_text}' of resource 'User'.",
            )
        clauses.append((joiner, prop, term.casefold()))
        joiner = (match.group(2) or "AND").upper()
        position = match.end()
        if match.group(2) is None and position < len(text):
            raise GraphError(400, "BadRequest", f"Syntax error: invalid $search clause in '{raw}'.")
    if not clauses:
        raise GraphError(400, "BadRequest", f"Syntax error: invalid $search clause in '{raw}'.")
    return clauses


def _term_matches(value: Any, term: str) -> bool:
    if value is None:
        return False
    text = str(value).casefold()
    return text.startswith(term) or any(word.startswith(term) for word in _WORD.findall(text))


def search_matches(raw: str, view: dict[str, Any]) -> bool:
    result = True
    for index, (joiner, prop, term) in enumerate(_parse(raw)):
        hit = _term_matches(view[prop], term)
        if index == 0:
            result = hit
        elif joiner == "OR":
            result = result or hit
        else:
            result = result and hit
    return result
