"""Credentials out of log text: tokens, JWTs and Basic credentials are replaced by markers."""

from __future__ import annotations

import binascii
import re
from base64 import b64decode
from typing import Any

from regauth.domain.tokens import BODY_LENGTH, LEAK_PATTERN, TokenKind, parse_token
from regauth.errors import MalformedToken

REDACTED = "<redacted>"
JWT_MARKER = "<redacted jwt>"
BASIC_MARKER = "<redacted base64>"

_PREFIX_LENGTH = len(TokenKind.PERSONAL.prefix)
_TOKEN = re.compile(LEAK_PATTERN)
# A JWS in compact form: base64url header and payload (JSON objects, so both start `eyJ`) and
# the signature; a header and payload without it are taken too (a token cut short).
_JWT = re.compile(r"eyJ[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+(?:\.[A-Za-z0-9_-]*)?")
# Standard base64 (what HTTP Basic uses) long enough for `user:secret` with a secret of 6+.
_BASE64 = re.compile(r"[A-Za-z0-9+/]{12,}={0,2}")


def scrub(text: str) -> str:
    """Tokens and JWTs replaced; the access log's path, method and request id go through it.

    Nearly every text has neither, and a substring test (~20 ns) says so before any regular
    expression runs: a token always has an `_` after its prefix, a JWT starts with `eyJ`.
    JWTs go first, so a token-shaped run inside a JWT cannot cut it in two.
    """
    if "eyJ" in text:
        text = _JWT.sub(JWT_MARKER, text)
    if "_" in text:
        text = _TOKEN.sub(_token_marker, text)
    return text


def scrub_message(text: str) -> str:
    """scrub(), and base64 of `user:secret` too (a Basic header value quoted in an error).

    For log records, not the access log's path: there a `/` (a base64 character) joins the
    value to the path segment before it, so it cannot be found without guessing where it starts.
    """
    text = scrub(text)
    if len(text) >= 12:
        text = _BASE64.sub(_basic_marker, text)
    return text


def quoted(text: str, limit: int = 80) -> str:
    """A client's entry quoted in an error message (a repository or a network it listed): a
    token pasted into the wrong field is never echoed, nor a megabyte of text."""
    shown = scrub(text)
    return repr(shown if len(shown) <= limit else shown[:limit] + "...")


def scrub_value(value: Any) -> Any:
    """scrub_message() over a log record's fields: strings, and those inside lists and dicts."""
    if isinstance(value, str):
        return scrub_message(value)
    if isinstance(value, dict):
        return {
            scrub_message(k) if isinstance(k, str) else k: scrub_value(v) for k, v in value.items()
        }
    if isinstance(value, list | tuple | set | frozenset):
        return [scrub_value(v) for v in value]
    return value


def _token_marker(match: re.Match[str]) -> str:
    text = match.group()
    try:
        token = parse_token(text[: _PREFIX_LENGTH + BODY_LENGTH])
    except MalformedToken:
        # Not a whole token: its first characters need not be a public id, keep none of them.
        return text[:_PREFIX_LENGTH] + REDACTED
    # A real token's public id is drawn apart from its secret and shown in listings and the
    # audit trail, so it says which token leaked (to revoke it) and nothing of the secret.
    return token.kind.prefix + token.public_id + REDACTED


def _basic_marker(match: re.Match[str]) -> str:
    run = match.group()
    if len(run) % 4:
        return run
    try:
        decoded = b64decode(run, validate=True).decode()
    except (binascii.Error, UnicodeDecodeError):
        return run
    return BASIC_MARKER if ":" in decoded and decoded.isprintable() else run
