"""The input boundary in `handlers/common.py`: how a body read ends, and that handlers use it."""

from __future__ import annotations

import ast
import asyncio
import gzip
import logging
from pathlib import Path
from unittest import mock

import pytest
from aiohttp import ClientConnectionResetError, ClientPayloadError, web
from aiohttp.http_exceptions import ContentLengthError, TransferEncodingError
from aiohttp.streams import StreamReader
from aiohttp.test_utils import make_mocked_request
from pytest_aiohttp import AiohttpClient

import regauth.http.handlers
from regauth.errors import (
    BadRequest,
    ClientDisconnected,
    RegauthError,
    RequestTimeout,
    UnsupportedMediaType,
)
from regauth.http.handlers.common import read_body
from regauth.http.middleware import make_middleware


def request_with(body: bytes | BaseException, headers: dict[str, str] | None = None) -> web.Request:
    payload = StreamReader(mock.Mock(), 2**16, loop=asyncio.get_running_loop())
    if isinstance(body, BaseException):
        payload.set_exception(body)
    else:
        payload.feed_data(body)
        payload.feed_eof()
    return make_mocked_request("POST", "/token", headers or {}, payload=payload)


@pytest.mark.parametrize(
    ("raised", "expected"),
    [
        # what aiohttp's connection_lost sets on the payload of a client that hung up
        (ConnectionResetError("Connection lost"), ClientDisconnected),
        (ClientConnectionResetError("Cannot write to closing transport"), ClientDisconnected),
        (asyncio.IncompleteReadError(b"0123456789", 1000), ClientDisconnected),
        (ContentLengthError("Not enough data to satisfy content length header."), ClientDisconnected),
        (ClientPayloadError("Response payload is not completed"), ClientDisconnected),
        (BrokenPipeError(), ClientDisconnected),
        # a read timeout, however the server implements one
        (TimeoutError(), RequestTimeout),
        # the body's framing broke
        (TransferEncodingError("Not enough data for satisfy transfer length header."), BadRequest),
    ],
)  # fmt: skip
async def test_a_body_read_that_fails_is_a_4xx(raised: BaseException, expected: type) -> None:
    with pytest.raises(RegauthError) as info:
        await read_body(request_with(raised))
    assert type(info.value) is expected
    assert 400 <= info.value.status < 500


async def test_a_body_timeout_is_a_408_one_line_and_a_closed_connection(
    aiohttp_client: AiohttpClient, caplog: pytest.LogCaptureFixture
) -> None:
    async def handler(request: web.Request) -> web.Response:
        await read_body(request)
        return web.Response()

    async def stalled(request: web.Request) -> web.Response:
        request.content.set_exception(TimeoutError())  # as a body-read timeout would
        return await handler(request)

    app = web.Application(middlewares=[make_middleware(access_log=None)])
    app.router.add_post("/", stalled)
    client = await aiohttp_client(app)
    caplog.set_level(logging.INFO)
    response = await client.post("/", data=b"x")
    assert response.status == 408
    assert response.headers["Connection"] == "close"
    assert (await response.json())["errors"][0]["code"] == "TIMEOUT"
    [line] = [r for r in caplog.records if r.name == "regauth.http"]
    assert (line.getMessage(), line.fields, line.exc_info) == (  # type: ignore[attr-defined]
        "client_timeout",
        {"cause": "TimeoutError"},
        None,
    )


async def test_a_cancelled_read_stays_cancelled() -> None:
    # With handler_cancellation the handler is cancelled: that must not become an answer.
    with pytest.raises(asyncio.CancelledError):
        await read_body(request_with(asyncio.CancelledError()))


@pytest.mark.parametrize(
    ("body", "headers", "expected"),
    [
        (b"a=1", {}, b"a=1"),
        (gzip.compress(b"a=1"), {"Content-Encoding": "gzip"}, b"a=1"),
        (b"a=1", {"Content-Encoding": "gzip"}, BadRequest),
        (b"a=1", {"Content-Encoding": "br"}, UnsupportedMediaType),
        (b"a=1", {"Content-Encoding": "g\u00fczip"}, BadRequest),  # not ASCII
    ],
)
async def test_read_body_undoes_the_content_coding(
    body: bytes, headers: dict[str, str], expected: bytes | type
) -> None:
    if isinstance(expected, bytes):
        assert await read_body(request_with(body, headers)) == expected
    else:
        with pytest.raises(RegauthError) as info:
            await read_body(request_with(body, headers))
        assert type(info.value) is expected


# Handlers read their input only through handlers/common.py, so a new one cannot skip the
# boundary. Path parameters (`match_info`) are text yarl decoded (an invalid escape stays as
# it was), so they may be read directly; each service checks the name it is given.
INPUT = frozenset(
    {
        "headers", "raw_headers", "query", "query_string", "rel_url", "url", "host", "cookies",
        "content", "read", "text", "json", "post", "multipart", "content_type", "charset",
        "content_length",
    }
)  # fmt: skip


def input_reads(source: str) -> list[str]:
    return [
        f"line {node.lineno}: request.{node.attr}"
        for node in ast.walk(ast.parse(source))
        if isinstance(node, ast.Attribute)
        and node.attr in INPUT
        and isinstance(node.value, ast.Name)
        and node.value.id == "request"
    ]


def test_handlers_read_input_only_through_the_boundary() -> None:
    folder = Path(regauth.http.handlers.__file__).parent
    found = {
        path.name: reads
        for path in sorted(folder.glob("*.py"))
        if path.name != "common.py" and (reads := input_reads(path.read_text()))
    }
    assert not found, f"read through handlers/common.py instead: {found}"


def test_the_rule_sees_a_direct_read() -> None:
    assert input_reads("async def h(request):\n    return request.query.get('x')\n") == [
        "line 2: request.query"
    ]
