"""The access log: one JSON line per request, formatted and written in batches."""

from __future__ import annotations

import json
import os
import re

import orjson
import pytest

from regauth.domain.tokens import AccessToken, TokenKind
from regauth.logs import AccessLog


def _read_all(fd: int) -> list[dict[str, object]]:
    os.set_blocking(fd, False)
    try:
        data = os.read(fd, 1 << 20)
    except BlockingIOError:
        return []
    return [json.loads(line) for line in data.decode().splitlines()]


def _written(*lines: tuple[str, str, int, float, str | None, str]) -> bytes:
    """What an AccessLog writes of these requests (method, path, status, ms, remote, rid)."""
    read, write = os.pipe()
    try:
        log = AccessLog(write, max_lines=100)
        for line in lines:
            log.write(*line)
        log.flush()
        os.set_blocking(read, False)
        return os.read(read, 1 << 20)
    finally:
        os.close(read)
        os.close(write)


def test_lines_wait_for_a_flush_then_come_out_whole_and_in_order() -> None:
    read, write = os.pipe()
    try:
        log = AccessLog(write, max_lines=100)
        log.write("GET", "/token", 200, 0.42, "127.0.0.1", "rid-1")
        log.write("POST", "/token", 401, 1.5, None, "rid-2")
        assert _read_all(read) == []  # nothing written per request
        assert log.flush() == 2
        first, second = _read_all(read)
        assert first == first | {
            "level": "info",
            "logger": "regauth.http",
            "event": "request",
            "request_id": "rid-1",
            "method": "GET",
            "path": "/token",
            "status": 200,
            "ms": 0.42,
            "remote": "127.0.0.1",
        }
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", str(first["ts"]))
        assert (second["request_id"], second["status"], second["remote"]) == ("rid-2", 401, None)
        assert log.flush() == 0
    finally:
        os.close(read)
        os.close(write)


def test_a_full_buffer_is_written_without_waiting_for_the_timer() -> None:
    read, write = os.pipe()
    try:
        log = AccessLog(write, max_lines=3)
        for i in range(3):
            log.write("GET", "/healthz", 200, 0.1, "::1", f"r{i}")
        assert [line["request_id"] for line in _read_all(read)] == ["r0", "r1", "r2"]
    finally:
        os.close(read)
        os.close(write)


def test_hostile_values_come_out_as_the_same_escaped_json_a_dict_would_give() -> None:
    hostile = '/t"o\\k\ne\tn\x00\u2028ü/../{"status":500}'
    lines = _written(
        ('G"ET', hostile, 400, 12.25, 'x"\n', 'r"\\'), ("GET", "/token", 200, 1e-05, None, "r2")
    ).splitlines(keepends=True)
    assert len(lines) == 2  # the newline in the path did not split a line
    first = json.loads(lines[0])
    expected = {
        "ts": first["ts"],
        "level": "info",
        "logger": "regauth.http",
        "event": "request",
        "request_id": 'r"\\',
        "method": 'G"ET',
        "path": hostile,
        "status": 400,
        "ms": 12.25,
        "remote": 'x"\n',
    }
    # orjson's bytes, but for U+2028, which the line escapes (the last test)
    as_dict = orjson.dumps(expected, option=orjson.OPT_APPEND_NEWLINE)
    assert lines[0] == as_dict.replace("\u2028".encode(), b"\\u2028")
    assert json.loads(lines[1])["ms"] == 1e-05


PAT = str(AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12"))
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"


@pytest.mark.parametrize(
    ("method", "path", "rid", "logged"),
    [
        ("GET", f"/admin/v1/tokens/{PAT}", "r1", ("GET", "/admin/v1/tokens/rgp_AbC123xYz0<redacted>", "r1")),
        ("DELETE", f"/v2/orgs/acme/access-tokens/{PAT}", "r2", ("DELETE", "/v2/orgs/acme/access-tokens/rgp_AbC123xYz0<redacted>", "r2")),
        ("GET", f"/v2/access-tokens/{JWT}", "r3", ("GET", "/v2/access-tokens/<redacted jwt>", "r3")),
        ("GET", f"/nope/{PAT[:-6]}", "r4", ("GET", "/nope/rgp_<redacted>", "r4")),
        # X-Request-Id is the client's when it is 64 of [A-Za-z0-9._-]: a PAT fits
        ("GET", "/token", PAT, ("GET", "/token", "rgp_AbC123xYz0<redacted>")),
        # so does a method: any HTTP token is one
        (PAT, "/token", "r5", ("rgp_AbC123xYz0<redacted>", "/token", "r5")),
    ],
)  # fmt: skip
def test_no_token_or_jwt_in_a_line(
    method: str, path: str, rid: str, logged: tuple[str, str, str]
) -> None:
    raw = _written((method, path, 404, 0.5, "127.0.0.1", rid))
    assert PAT.encode() not in raw and PAT[4:-6].encode() not in raw and JWT.encode() not in raw
    (line,) = raw.splitlines()
    entry = json.loads(line)
    assert (entry["method"], entry["path"], entry["request_id"]) == logged


def test_what_a_terminal_acts_on_is_escaped_and_means_the_same() -> None:
    """JSON leaves DEL, C1 controls (CSI U+009B) and bidi overrides as they are; a path carries
    any of them percent-encoded, and `tail -f` of the log would act on them."""
    hostile = "/x\x9b31m\u202eevil\x7f\u2066"
    raw = _written(
        ("GET", hostile, 404, 0.1, "127.0.0.1", "r1"),
        ("GET", "/token", 200, 0.2, "127.0.0.1", "r2"),
    )
    for character in "\x9b\u202e\x7f\u2066":
        assert character.encode() not in raw
    assert b"\\u009b31m\\u202eevil\\u007f\\u2066" in raw
    first, second = (json.loads(line) for line in raw.splitlines())
    assert (first["path"], second["path"]) == (hostile, "/token")
