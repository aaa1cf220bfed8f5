"""JsonFormatter: one JSON object per record, and no credential in it whoever logged what."""

from __future__ import annotations

import base64
import json
import logging
import sys
from typing import Any

import pytest

from regauth import logs
from regauth.domain.credentials import Credentials
from regauth.domain.tokens import AccessToken, TokenKind

TOKEN = AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12")
PAT = str(TOKEN)
MARKER = "rgp_AbC123xYz0<redacted>"
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
BASIC = base64.b64encode(f"alice:{PAT}".encode()).decode()


def record(
    msg: str, *args: object, fields: dict[str, Any] | None = None, exc: bool = False
) -> logging.LogRecord:
    """A record as a logger makes it, formatted here and never handed to a handler."""
    made = logging.LogRecord(
        "regauth.test", logging.ERROR, __file__, 1, msg, args, sys.exc_info() if exc else None
    )
    if fields is not None:
        made.fields = fields
    return made


def formatted(made: logging.LogRecord) -> dict[str, Any]:
    line = logs.JsonFormatter().format(made)
    assert PAT not in line and TOKEN.secret not in line and JWT not in line and BASIC not in line
    return json.loads(line)  # type: ignore[no-any-return]


def test_an_event_its_fields_and_the_request_id() -> None:
    token = logs.request_id.set("rid-7")
    try:
        entry = formatted(record("scope_denied", fields={"sub": "alice", "n": 2}))
    finally:
        logs.request_id.reset(token)
    assert entry == entry | {
        "level": "error",
        "logger": "regauth.test",
        "event": "scope_denied",
        "request_id": "rid-7",
        "sub": "alice",
        "n": 2,
    }


@pytest.mark.parametrize(
    ("made", "key", "logged"),
    [
        (record("got %s", PAT), "event", f"got {MARKER}"),
        (record(f"Bearer {JWT}"), "event", "Bearer <redacted jwt>"),
        (record("bad header: b'Basic %s\\x01'", BASIC), "event", "bad header: b'Basic <redacted base64>\\x01'"),
        (record("x", fields={"raw": f"repository:{PAT}:pull"}), "raw", f"repository:{MARKER}:pull"),
        (record("x", fields={"rejected": [f"{JWT}: bad"]}), "rejected", ["<redacted jwt>: bad"]),
        (record("x", fields={"deep": {"auth": f"Basic {BASIC}"}}), "deep", {"auth": "Basic <redacted base64>"}),
        # orjson would write a dataclass field by field, the secret its repr hides included
        (record("x", fields={"token": TOKEN}), "token", MARKER),
        (record("x", fields={"credentials": Credentials("alice", PAT)}), "credentials", "Credentials(username='alice', secret=***)"),
        (record("x", fields={"raw": PAT.encode()}), "raw", f"b'{MARKER}'"),
    ],
)  # fmt: skip
def test_credentials_in_a_message_or_its_fields_are_scrubbed(
    made: logging.LogRecord, key: str, logged: object
) -> None:
    assert formatted(made)[key] == logged


def test_an_exception_that_quotes_a_credential_is_scrubbed() -> None:
    try:
        raise ValueError(f"cannot parse {PAT} nor {JWT} nor Basic {BASIC}")
    except ValueError:
        entry = formatted(record("unhandled_error", exc=True))
    assert "ValueError: cannot parse" in entry["exception"]
    assert f"{MARKER} nor <redacted jwt> nor Basic <redacted base64>" in entry["exception"]


def test_a_request_id_the_client_chose_is_scrubbed() -> None:
    token = logs.request_id.set(PAT)  # X-Request-Id allows 64 of [A-Za-z0-9._-]
    try:
        entry = formatted(record("request_failed"))
    finally:
        logs.request_id.reset(token)
    assert entry["request_id"] == MARKER


def test_what_a_terminal_acts_on_is_escaped_in_a_field() -> None:
    """A user agent may carry C1 controls and bidi overrides, which JSON leaves as they are."""
    agent = "docker/27\x9b2J\u202ex\x7f"
    line = logs.JsonFormatter().format(record("token_used", fields={"user_agent": agent}))
    assert line.isascii() and "\x7f" not in line
    assert json.loads(line)["user_agent"] == agent
