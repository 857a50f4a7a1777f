"""Microsoft Entra's password rules and the sandbox's password hashes.

Two rules, as in Entra: the complexity rule, and Password Protection's banned-password check
(wire reference 2.2: a banned term can refuse a password the complexity rule accepts). The
check follows Microsoft's published evaluation ("Eliminate bad passwords using Microsoft Entra
Password Protection"): the password is lowercased and common substitutions undone
(0→o, 1→l, $→s, @→a); banned terms are found in it with an edit distance of one; the tenant's
name is found as a plain substring; each term found scores one point and each character left
over scores one; fewer than five points refuses the password.

Like Microsoft, the sandbox keeps only a salted hash; SMTP AUTH checks against it.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import string
from collections.abc import Iterable

# The symbol set of Entra's password policy (concept-sspr-policy), space included.
_SYMBOLS = frozenset("@#$%^&*-_!+=[]{}|\\:',.?/`~\"();<> ")
_ITERATIONS = 20_000

_SUBSTITUTIONS = str.maketrans({"0": "o", "1": "l", "$": "s", "@": "a"})
PASSING_SCORE = 5
# A few terms of Microsoft's global banned list, which Microsoft does not publish whole; every
# tenant gets them, as every Entra tenant gets the global list.
GLOBAL_BANNED_TERMS = ("password", "welcome", "qwerty", "letmein", "iloveyou")
# The custom banned list's limits in Entra: up to 1,000 terms of 4 to 16 characters.
CUSTOM_TERM_LENGTH = (4, 16)
CUSTOM_TERMS_MAX = 1000


def meets_complexity(password: str) -> bool:
    """8-256 characters, ASCII only, and at least 3 of: lower, upper, digit, symbol."""
    if not 8 <= len(password) <= 256:
        return False
    if any(ord(char) > 127 for char in password):
        return False
    if any(char not in _SYMBOLS and not char.isalnum() for char in password):
        return False
    classes = (
        any(char in string.ascii_lowercase for char in password),
        any(char in string.ascii_uppercase for char in password),
        any(char in string.digits for char in password),
        any(char in _SYMBOLS for char in password),
    )
    return sum(classes) >= 3


def normalise(text: str) -> str:
    return text.lower().translate(_SUBSTITUTIONS)


def _within_one_edit(candidate: str, term: str) -> bool:
    """Levenshtein distance of at most one."""
    if candidate == term:
        return True
    if abs(len(candidate) - len(term)) > 1:
        return False
    if len(candidate) == len(term):
        return sum(a != b for a, b in zip(candidate, term, strict=True)) == 1
    shorter, longer = sorted((candidate, term), key=len)
    return any(longer[:i] + longer[i + 1 :] == shorter for i in range(len(longer)))


def _find(text: str, used: list[bool], term: str, fuzzy: bool) -> tuple[int, int] | None:
    """A window of `text`, clear of `used` positions, that is `term`, or (when `fuzzy`) within
    one edit of it: its start and end. An exact match is preferred, then the shortest window,
    so a match takes no more characters than it needs."""
    lengths = (len(term) - 1, len(term), len(term) + 1) if fuzzy else ()
    for pass_number, length in enumerate((len(term), *lengths)):
        exact = pass_number == 0
        if length <= 0:
            continue
        for start in range(len(text) - length + 1):
            end = start + length
            if any(used[start:end]):
                continue
            window = text[start:end]
            if window == term if exact else _within_one_edit(window, term):
                return start, end
    return None


def banned_password_score(
    password: str, banned_terms: Iterable[str], names: Iterable[str] = ()
) -> int:
    """Password Protection's score: one point per banned term or name found, one per other
    character. Longer terms are looked for first, so a term inside another is not counted
    twice."""
    text = normalise(password)
    used = [False] * len(text)
    points = 0
    searches = [(normalise(term), True) for term in banned_terms if term]
    searches += [(normalise(name), False) for name in names if len(name) >= 4]
    for term, fuzzy in sorted(set(searches), key=lambda item: -len(item[0])):
        while (found := _find(text, used, term, fuzzy)) is not None:
            start, end = found
            used[start:end] = [True] * (end - start)
            points += 1
    return points + used.count(False)


def hash_password(password: str) -> str:
    salt = secrets.token_bytes(16)
    digest = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, _ITERATIONS)
    return f"pbkdf2_sha256${_ITERATIONS}${base64.b64encode(salt).decode()}${base64.b64encode(digest).decode()}"


def verify_password(password: str, encoded: str | None) -> bool:
    if not encoded:
        return False
    try:
        scheme, iterations, salt, digest = encoded.split("$")
    except ValueError:
        return False
    if scheme != "pbkdf2_sha256":
        return False
    candidate = hashlib.pbkdf2_hmac(
        "sha256", password.encode(), base64.b64decode(salt), int(iterations)
    )
    return hmac.compare_digest(candidate, base64.b64decode(digest))
