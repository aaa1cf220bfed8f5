"""Secrets the tests made, and how to find a credential in log text (for the session's log check).

The patterns are written here, not imported from `regauth`, so a mistake in the scrubber cannot
blind the check.
"""

from __future__ import annotations

import binascii
import json
import re
from base64 import b64decode
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

# Any regauth token prefix (in any case) with more base62 characters than a public id (10) after
# it: a whole token, one glued to other text, upper-cased, or one cut short (without its checksum it still holds its
# whole secret). The published pattern (README "Tokens") is narrower on purpose, for scanners.
_TOKEN = re.compile(r"(?i:rg[paso]_)[0-9A-Za-z]{11,}")
# A PAT's secret is 32 base62 characters: a run that long is a secret that lost its prefix
# (or a hex digest, which regauth does not log either).
_SECRET = re.compile(r"[0-9A-Za-z]{32,}")
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+")
_BASE64 = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")

SECRETS: set[str] = set()


def remember(secret: str) -> str:
    """Mark a secret a test made: the check fails if it is ever logged. Returns it."""
    if len(secret) >= 8:  # shorter ones would be found in ordinary words
        SECRETS.add(secret)
    return secret


@dataclass(frozen=True, slots=True)
class Leak:
    where: str  # the test's node id, and whether a record or stderr
    kind: str
    excerpt: str  # the log text around it, the value itself cut to its first characters

    def __str__(self) -> str:
        return f"{self.where}: {self.kind}: {self.excerpt}"


def find_leaks(text: str, secrets: Iterable[str] = ()) -> Iterator[tuple[str, int, int]]:
    """(kind, start, end) of each credential in the text."""
    shapes = (("token-shaped", _TOKEN), ("secret-shaped", _SECRET), ("JWT-shaped", _JWT))
    for kind, pattern in shapes:
        for match in pattern.finditer(text):
            yield kind, match.start(), match.end()
    for match in _BASE64.finditer(text):
        if _is_basic_credential(match.group()):
            yield "base64 of user:secret", match.start(), match.end()
    for secret in secrets:
        if _TOKEN.fullmatch(secret) or _JWT.match(secret):
            continue  # found above, wherever it is: searching for each one again costs minutes
        # as written, and inside a JSON string (orjson's UTF-8, or the stdlib's \u escapes)
        for form in {
            secret,
            json.dumps(secret, ensure_ascii=False)[1:-1],
            json.dumps(secret)[1:-1],
        }:
            start = text.find(form)
            while start != -1:
                yield "a secret a test made", start, start + len(form)
                start = text.find(form, start + 1)


def _is_basic_credential(run: str) -> bool:
    if len(run) % 4:
        return False
    try:
        decoded = b64decode(run, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return False
    return ":" in decoded and decoded.isprintable()


def excerpt(text: str, start: int, end: int) -> str:
    before = text[max(0, start - 60) : start].rsplit("\n", 1)[-1]
    after = text[end : end + 40].split("\n", 1)[0]
    return f"…{before}[{text[start : min(end, start + 8)]}…]{after}…"
