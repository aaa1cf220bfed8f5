"""Requests that are not well-formed: a 4xx in our error shape, never a 500 or a traceback.

Each row is a raw request (sent over a socket, so any byte can be in it) and the answer it must
get. The rows marked `# was: 500` answered 500 with a traceback before the input boundary
(`handlers/common.py`, `decoding.py`); the others were wrong in another way, noted beside them.
"""

from __future__ import annotations

import asyncio
import gzip
import logging
import zlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from regauth.config import Config
from regauth.http.app import create_app
from regauth.http.appkeys import RUNTIME
from regauth.runtime import Runtime
from tests.support import raw_http
from tests.support.builders import Client, add_user
from tests.support.input_app import LOGIN, InputApp, input_app, input_config

JSON = (b"Content-Type", b"application/json")
FORM = (b"Content-Type", b"application/x-www-form-urlencoded")
PASSWORD_FORM = b"grant_type=password&username=alice&password=alice-password&service=registry"


def deep_json(levels: int) -> bytes:
    return b'{"username": ' + b'{"a": ' * levels + b"1" + b"}" * levels + b"}"


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return input_config(tmp_path)


@pytest.fixture
async def fx(runtime: Runtime, client: Client) -> InputApp:
    return await input_app(runtime, client)


@dataclass(frozen=True)
class Row:
    name: str
    method: str
    target: bytes
    status: int
    code: str | None  # errors[0].code, for a 4xx
    headers: tuple[tuple[bytes, bytes], ...] = ()
    body: bytes | None = None
    auth: str | None = None  # a key of InputApp.auth
    oauth: str | None = None  # the OAuth2 `error` (POST /token)
    extra: dict[str, Any] = field(default_factory=dict)

    def __str__(self) -> str:
        return self.name


ROWS = [
    # -- headers: aiohttp hands bytes that are not UTF-8 over as lone surrogates --------------
    Row("basic-non-ascii", "GET", b"/token", 400, "BAD_REQUEST", ((b"Authorization", b"Basic \xc3\xa4"),)),  # was: 500
    Row("basic-not-utf8", "GET", b"/token", 400, "BAD_REQUEST", ((b"Authorization", b"Basic \xff\xfe"),)),  # was: 500
    Row("bearer-not-utf8", "GET", b"/admin/v1/users", 400, "BAD_REQUEST", ((b"Authorization", b"Bearer \xff"),)),  # was: 500
    Row("bearer-non-ascii", "GET", b"/v2/access-tokens", 400, "BAD_REQUEST", ((b"Authorization", b"Bearer \xc3\xa4"),)),  # was: 401
    # was: 200, and the usage batch then failed every second (see the test below)
    Row("user-agent-not-utf8", "GET", b"/token", 400, "BAD_REQUEST", ((b"User-Agent", b"docker/\xff\xfe"),), auth="pat"),
    Row("user-agent-not-utf8-login", "POST", b"/v2/users/login", 400, "BAD_REQUEST", ((b"User-Agent", b"\xff"), JSON), LOGIN),
    Row("user-agent-utf8", "GET", b"/token", 200, None, ((b"User-Agent", "dockér/1".encode()),), auth="pat"),
    Row("x-forwarded-for-zone", "GET", b"/token", 200, None, ((b"X-Forwarded-For", b"fe80::1%\xff"),), auth="pat"),
    Row("x-request-id-not-utf8", "GET", b"/token", 200, None, ((b"X-Request-Id", b"\xff\xfe"),)),
    Row("content-type-not-utf8", "POST", b"/token", 400, "BAD_REQUEST", ((b"Content-Type", b"\xff/\xfe"),), PASSWORD_FORM, oauth="invalid_request"),
    Row("expect-not-utf8", "POST", b"/v2/users/login", 200, None, ((b"Expect", b"\xff"), JSON), LOGIN),  # was: 500, text/plain
    Row("expect-unknown", "POST", b"/v2/users/login", 200, None, ((b"Expect", b"teapot"), JSON), LOGIN),  # was: 417, text/plain echoing it
    Row("expect-100-continue", "POST", b"/v2/users/login", 200, None, ((b"Expect", b"100-continue"), JSON), LOGIN),
    # was: 500 (yarl read the Host header to build the `next` link)
    Row("host-not-utf8", "GET", b"/v2/access-tokens?page=2&page_size=1", 200, None, ((b"Host", b"\xff"),), auth="session"),
    # -- the query ------------------------------------------------------------------------------
    Row("kind-unknown", "GET", b"/admin/v1/tokens?kind=AAA", 400, "BAD_REQUEST", auth="admin_key"),  # was: 200 []
    Row("state-unknown", "GET", b"/admin/v1/tokens?state=AAA", 400, "BAD_REQUEST", auth="admin_key"),
    Row("limit-other-digits", "GET", b"/admin/v1/tokens?limit=%D9%A1", 400, "BAD_REQUEST", auth="admin_key"),  # was: 200 (int() reads U+0661)
    Row("limit-underscore", "GET", b"/admin/v1/tokens?limit=1_0", 400, "BAD_REQUEST", auth="admin_key"),  # was: 200
    Row("epoch-spaces", "GET", b"/admin/v1/tokens?last_used_before=+5+", 400, "BAD_REQUEST", auth="admin_key"),  # was: 200
    Row("epoch-digits", "GET", b"/admin/v1/audit?since=" + b"9" * 5000, 400, "BAD_REQUEST", auth="admin_key"),
    Row("user-not-utf8", "GET", b"/admin/v1/tokens?user=%ED%B3%BF", 400, "BAD_REQUEST", auth="admin_key"),  # was: 200 []
    Row("page-other-digits", "GET", b"/v2/access-tokens?page=%D9%A1", 400, "BAD_REQUEST", auth="session"),  # was: 200
    Row("org-page-size", "GET", b"/v2/orgs/acme/access-tokens?page_size=1_0", 400, "BAD_REQUEST", auth="session"),  # was: 200
    Row("offline-token-unknown", "GET", b"/token?offline_token=maybe", 400, "BAD_REQUEST"),  # was: 200 (false)
    Row("offline-token-go-bool", "GET", b"/token?offline_token=1", 200, None),  # strconv.ParseBool's spellings
    Row("scope-not-utf8", "GET", b"/token?scope=repository:alice/%ff:pull", 400, "BAD_REQUEST", auth="pat"),  # was: 200 (U+FFFD)
    Row("service-not-utf8", "GET", b"/token?service=%C0%80", 400, "BAD_REQUEST"),  # was: 400 "unknown service"
    # -- path parameters: authentication first, then a 400 in our shape -------------------------
    Row("repository-newline-anonymous", "PATCH", b"/admin/v1/repositories/a%0Ab", 401, "UNAUTHORIZED", (JSON,), b"{}"),  # was: 404 (no route)
    Row("repository-newline", "PATCH", b"/admin/v1/repositories/alice/a%0Ab", 400, "BAD_REQUEST", (JSON,), b'{"visibility": "public"}', auth="admin_key"),  # was: 404
    Row("namespace-repository-newline-anonymous", "PATCH", b"/v2/namespaces/alice/repositories/a%0A", 401, "UNAUTHORIZED", (JSON,), b"{}"),  # was: 404
    Row("namespace-repository-newline", "PATCH", b"/v2/namespaces/alice/repositories/a%0Ab", 400, "BAD_REQUEST", (JSON,), b'{"is_private": false}', auth="session"),  # was: 404
    Row("user-name-newline", "GET", b"/admin/v1/users/a%0Ab", 404, "NOT_FOUND", auth="admin_key"),
    # -- JSON -------------------------------------------------------------------------------
    Row("json-1000-deep", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), deep_json(1000)),  # was: 500 (RecursionError)
    Row("json-20-deep", "POST", b"/admin/v1/explain", 400, "BAD_REQUEST", (JSON,), b'{"scope": "x", "user": "alice", "n": ' + b"[" * 20 + b"]" * 20 + b"}", auth="admin_key"),
    Row("json-4301-digits", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), b'{"username": ' + b"1" * 4301 + b"}"),  # was: 500
    Row("json-lone-surrogate-password", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), b'{"username": "alice", "password": "\\udcff"}'),  # was: 500
    Row("json-lone-surrogate-label", "POST", b"/v2/access-tokens", 400, "BAD_REQUEST", (JSON,), b'{"token_label": "\\ud800", "scopes": ["repo:read"]}', auth="session"),  # was: 500
    Row("json-not-utf8", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), b'{"username": "\xff"}'),
    Row("json-utf16", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), LOGIN.decode().encode("utf-16")),  # was: 200 (the stdlib read UTF-16)
    Row("json-nan", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), b'{"username": NaN}'),
    Row("json-bom", "POST", b"/v2/users/login", 200, None, (JSON,), b"\xef\xbb\xbf" + LOGIN),  # RFC 8259 §8.1: may be ignored
    Row("json-not-an-object", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON,), b"[]"),
    # -- the POST /token form -----------------------------------------------------------------
    Row("form-not-utf8", "POST", b"/token", 400, "BAD_REQUEST", (FORM,), b"grant_type=password&username=\xff&password=x", oauth="invalid_request"),  # was: 500
    Row("form-escape-not-utf8", "POST", b"/token", 400, "BAD_REQUEST", (FORM,), b"grant_type=password&username=alice&password=%ff", oauth="invalid_request"),  # was: 401 (read as U+FFFD)
    Row("form-charset-unknown", "POST", b"/token", 400, "BAD_REQUEST", ((b"Content-Type", b"application/x-www-form-urlencoded; charset=foo"),), PASSWORD_FORM, oauth="invalid_request"),  # was: 500
    Row("form-charset-utf16", "POST", b"/token", 400, "BAD_REQUEST", ((b"Content-Type", b"application/x-www-form-urlencoded; charset=utf-16"),), PASSWORD_FORM, oauth="invalid_request"),  # was: 500
    Row("form-charset-utf8", "POST", b"/token", 200, None, ((b"Content-Type", b"application/x-www-form-urlencoded; charset=UTF-8"),), PASSWORD_FORM),
    Row("form-repeated-field", "POST", b"/token", 400, "BAD_REQUEST", (FORM,), PASSWORD_FORM + b"&grant_type=refresh_token", oauth="invalid_request"),  # was: 200 (first won)
    Row("form-too-many-fields", "POST", b"/token", 400, "BAD_REQUEST", (FORM,), PASSWORD_FORM + b"".join(b"&f%d=" % i for i in range(40)), oauth="invalid_request"),
    Row("form-access-type-unknown", "POST", b"/token", 400, "BAD_REQUEST", (FORM,), PASSWORD_FORM + b"&access_type=sometimes", oauth="invalid_request"),
    # -- content codings: undone by us, with the body's own size limit ---------------------------
    Row("gzip-not-gzip", "POST", b"/token", 400, "BAD_REQUEST", (FORM, (b"Content-Encoding", b"gzip")), PASSWORD_FORM, oauth="invalid_request"),  # was: 500
    Row("deflate-not-deflate", "POST", b"/token", 400, "BAD_REQUEST", (FORM, (b"Content-Encoding", b"deflate")), b"\x78\x9c not deflate", oauth="invalid_request"),  # was: 500
    Row("gzip-not-gzip-json", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON, (b"Content-Encoding", b"gzip")), LOGIN),  # was: 500
    Row("gzip-truncated", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON, (b"Content-Encoding", b"gzip")), gzip.compress(LOGIN)[:-6]),
    Row("gzip-trailing-bytes", "POST", b"/v2/users/login", 400, "BAD_REQUEST", (JSON, (b"Content-Encoding", b"gzip")), gzip.compress(LOGIN) + b"junk"),
    Row("gzip-bomb", "POST", b"/token", 413, "SIZE_INVALID", (FORM, (b"Content-Encoding", b"gzip")), gzip.compress(b"a" * 10_000_000), oauth="invalid_request"),
    # was: a text/plain 400 from inside aiohttp ("Please install `Brotli`"), with a traceback
    Row("br", "POST", b"/token", 415, "UNSUPPORTED", (FORM, (b"Content-Encoding", b"br")), b"\x0b\x02\x80hello\x03", oauth="invalid_request", extra={"accept-encoding": "gzip, deflate"}),
    Row("zstd", "POST", b"/token", 415, "UNSUPPORTED", (FORM, (b"Content-Encoding", b"zstd")), b"\x28\xb5\x2f\xfd", oauth="invalid_request"),
    Row("two-codings", "POST", b"/v2/users/login", 415, "UNSUPPORTED", (JSON, (b"Content-Encoding", b"gzip, gzip")), gzip.compress(gzip.compress(LOGIN))),
    Row("compress", "POST", b"/v2/users/login", 415, "UNSUPPORTED", (JSON, (b"Content-Encoding", b"compress")), LOGIN),  # was: read as identity
    Row("gzip-valid", "POST", b"/v2/users/login", 200, None, (JSON, (b"Content-Encoding", b"GZIP")), gzip.compress(LOGIN)),
    Row("deflate-valid", "POST", b"/token", 200, None, (FORM, (b"Content-Encoding", b"deflate")), zlib.compress(PASSWORD_FORM)),
    Row("identity", "POST", b"/v2/users/login", 200, None, (JSON, (b"Content-Encoding", b"identity")), LOGIN),
]  # fmt: skip


@pytest.mark.parametrize("row", ROWS, ids=str)
async def test_malformed_requests_get_a_4xx_in_our_shape(
    fx: InputApp, row: Row, caplog: pytest.LogCaptureFixture
) -> None:
    headers = list(row.headers)
    if row.auth:
        headers.append((b"Authorization", fx.auth[row.auth]))
    target = row.target.decode().format(**fx.values).encode()
    response = await fx.send(raw_http.build(row.method, target, headers, row.body))
    assert response.status == row.status, response.body
    assert response.headers["content-type"].startswith("application/json")
    assert "x-request-id" in response.headers  # answered through our middleware
    body = response.json()
    if row.code is not None:
        assert body["errors"][0]["code"] == row.code
        assert body["details"] == body["errors"][0]["message"]
    if row.oauth is not None:
        assert body["error"] == row.oauth
    for name, value in row.extra.items():
        assert response.headers[name] == value
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR or r.exc_info]


async def test_header_bytes_never_reach_the_batched_writes(fx: InputApp) -> None:
    """The usage batch is written once a second: one bad value in it failed every write after."""
    pat = fx.auth["pat"]
    for headers in [
        ((b"User-Agent", b"\xff\xfe"),),
        ((b"X-Forwarded-For", b"fe80::1%\xff"),),
        ((b"X-Forwarded-For", "fe80::1%ü".encode()),),
    ]:
        await fx.send(raw_http.build("GET", b"/token", (*headers, (b"Authorization", pat))))
    assert fx.client.app[RUNTIME].usage.flush() <= 1  # raised UnicodeEncodeError before
    fx.runtime.audit.flush()
    record = fx.runtime.tokens.get(fx.values["id"])
    assert record.last_used_ip == "127.0.0.1"  # the zone is not an address: the peer is kept


async def test_the_listing_links_come_from_the_public_url(fx: InputApp) -> None:
    response = await fx.send(
        raw_http.build(
            "GET",
            b"/v2/access-tokens?page=2&page_size=1",
            ((b"Host", b"evil.example"), (b"Authorization", fx.auth["session"])),
        )
    )
    body = response.json()
    assert body["next"] == "http://localhost:5001/v2/access-tokens?page_size=1&page=3"
    assert body["previous"] == "http://localhost:5001/v2/access-tokens?page_size=1&page=1"


# -- a client that hangs up mid-body ---------------------------------------------------------


@pytest.fixture
async def served(runtime: Runtime) -> AsyncIterator[tuple[str, int]]:
    """The app as `regauth serve` runs it: an AppRunner without handler cancellation, so a
    handler reading a body whose client is gone gets an exception (the test client's server
    cancels the handler instead, and would hide the bug)."""
    add_user(runtime, "alice", "alice-password")
    runner = web.AppRunner(create_app(runtime), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    yield host, port
    await runner.cleanup()


@pytest.mark.parametrize(
    ("target", "content_type"),
    [(b"/v2/users/login", b"application/json"), (b"/token", b"application/x-www-form-urlencoded")],
)
@pytest.mark.parametrize("how", ["close", "reset"])
async def test_a_client_that_hangs_up_mid_body_is_one_short_line(
    served: tuple[str, int],
    target: bytes,
    content_type: bytes,
    how: str,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.INFO)
    head = raw_http.build(
        "POST", target, ((b"Content-Type", content_type), (b"Content-Length", b"1000"))
    )
    for count in range(1, 6):
        _, writer = await asyncio.open_connection(*served)
        writer.write(head + b'{"username"')  # 11 of the 1,000 bytes promised
        await writer.drain()
        await asyncio.sleep(0.05)  # the handler is waiting for the rest
        if how == "reset":
            writer.transport.abort()
        else:
            writer.close()
        await _log_has(caplog, count)
    lines = _lines(caplog)
    assert [r.getMessage() for r in lines] == ["client_disconnected"] * 5
    assert all(r.exc_info is None and r.levelno == logging.INFO for r in lines)
    # the cause's type, never request bytes
    assert all(r.fields == {"cause": "ConnectionResetError"} for r in lines)  # type: ignore[attr-defined]
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING or r.exc_info]


def _lines(caplog: pytest.LogCaptureFixture) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.name.startswith(("regauth", "aiohttp"))]


async def _log_has(caplog: pytest.LogCaptureFixture, count: int) -> None:
    async with asyncio.timeout(2):
        while len(_lines(caplog)) < count:  # noqa: ASYNC110 - a log record is no event to await
            await asyncio.sleep(0.01)
