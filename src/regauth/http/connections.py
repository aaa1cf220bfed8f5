"""A worker's HTTP connections: deadlines for reading a request, a cap, parser errors without bytes.

aiohttp on its own waits for a request's headers and body as long as the client keeps the
connection open (one that sent the headers and one body byte was still open after 900 s), lets
a worker take connections until it runs out of descriptors, and logs and answers a malformed
request with the parser's message, which quotes the offending line: often the Authorization
header, i.e. base64 of `user:PAT`. `Connection` is aiohttp's protocol with those three changed;
`Connections` makes them for a worker's sites and holds the cap.
"""

from __future__ import annotations

import asyncio
import logging
import typing
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from aiohttp.http_exceptions import BadHttpMethod, HttpProcessingError, LineTooLong
from aiohttp.streams import StreamReader
from aiohttp.web_protocol import _ErrInfo  # what aiohttp queues for a request that failed to parse

from regauth import logs
from regauth.config import ServerConfig
from regauth.domain import ids
from regauth.errors import BadRequest, HeadersTooLarge, RegauthError, RequestTimeout
from regauth.http.middleware import error_response

log = logging.getLogger("regauth.server")

# Descriptors a worker needs besides its connections: its database, log and loop (~30), and
# one accept batch (the event loop accepts up to a listen backlog of 128 connections before the
# first of them reaches the cap, which then closes the surplus).
_SPARE_DESCRIPTORS = 160
# The cap's log line comes at most this often, with what was closed since the last one.
_REPORT_EVERY_SECONDS = 10.0

# What a connection is doing, for its deadline. _OTHER: no request being read: idle between
# requests (aiohttp's keep-alive timer closes it), or a complete request being answered.
_OTHER, _HEADERS, _BODY = 0, 1, 2


@dataclass(frozen=True)
class ConnectionLimits:
    header_timeout: float
    body_timeout: float
    keepalive_timeout: float
    max_connections: int

    @classmethod
    def for_worker(cls, server: ServerConfig, *, open_files: int) -> ConnectionLimits:
        return cls(
            header_timeout=server.header_timeout_seconds,
            body_timeout=server.body_timeout_seconds,
            keepalive_timeout=server.keepalive_timeout_seconds,
            max_connections=connection_cap(server.max_connections, open_files),
        )


def connection_cap(configured: int, open_files: int) -> int:
    """`max_connections`, lowered so that a worker at its cap still has descriptors to spare:
    out of descriptors, it could not accept the connection that would replace an idle one."""
    return max(1, min(configured, open_files - _SPARE_DESCRIPTORS))


class Connection(web.RequestHandler):
    """aiohttp's protocol, with a deadline while a request is read and our own error answer.

    A request's line and headers are due `header_timeout` after its first byte (after the
    connection opens, for its first request), its body `body_timeout` after its headers; a
    connection still short of them then is closed. One timer per connection, armed lazily:
    a timer that fires before the current deadline (which moved on since it was armed) is
    armed again for it, one that fires while no request is being read is dropped, and the
    next request's first bytes arm a new one. So a busy kept-alive connection arms it about
    once per `header_timeout`, not once per request, and a request that arrives whole in one
    read (every `/token` request does) costs a few attribute reads, no clock read.

    It reads RequestHandler's own state (`_request_count`, `_messages`, `_request_in_progress`,
    aiohttp 3.x): there is no public hook for "headers complete" or "idle". The tests in
    tests/server/test_connections.py and test_connection_cap.py go through each use of it.
    """

    __slots__ = ("_body", "_connections", "_deadline", "_limits", "_phase", "_timer", "_timer_at")

    def __init__(
        self,
        manager: web.Server,
        connections: Connections,
        limits: ConnectionLimits,
        *,
        loop: asyncio.AbstractEventLoop,
    ) -> None:
        super().__init__(
            manager,
            loop=loop,
            keepalive_timeout=limits.keepalive_timeout,
            # None turns aiohttp's access log off (its type says Logger; its code checks);
            # the middleware writes regauth's own.
            access_log=None,  # type: ignore[arg-type]
        )
        self._connections = connections
        self._limits = limits
        self._phase = _OTHER
        self._deadline = 0.0
        self._timer: asyncio.TimerHandle | None = None
        self._timer_at = 0.0
        self._body: StreamReader | None = None

    @property
    def waiting_on_client(self) -> bool:
        """Reading a request, or idle between two: closing it loses no work of ours."""
        return self._phase != _OTHER or not (self._request_in_progress or self._messages)

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        if not self._connections.admit(self):
            # At the cap with nothing to close instead: at once, not after a timeout.
            typing.cast(asyncio.Transport, transport).abort()
            return
        super().connection_made(transport)
        self._expect(_HEADERS, self._limits.header_timeout)

    def connection_lost(self, exc: BaseException | None) -> None:
        if self._timer is not None:
            self._timer.cancel()
            self._timer = None
        self._phase = _OTHER
        self._body = None
        self._connections.forget(self)
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        parsed = self._request_count
        super().data_received(data)
        if self._request_count != parsed:
            # A request's headers are complete, or failed to parse: its body, if any, is due.
            # (A whole request in one read, as /token's always is, costs no clock read.)
            message, body = self._messages[-1]
            reading = self._body
            if reading is not None and not reading.is_eof() and isinstance(message, _ErrInfo):
                # The body being read failed to parse (a bad chunk, say). aiohttp queues the
                # error behind its request and leaves the body waiting for bytes that will
                # never parse; the error would be answered after the body timeout.
                _log_malformed(message.exc, BadRequest.status, _remote(self))
                self._fail_body(BadRequest("malformed HTTP request"))
            elif body.is_eof():
                self._phase = _OTHER
                self._body = None
            else:
                self._body = body
                self._expect(_BODY, self._limits.body_timeout)
        elif self._phase == _OTHER:
            if data:  # the first bytes of a request (aiohttp re-parses its buffer with b"")
                self._expect(_HEADERS, self._limits.header_timeout)
        elif self._phase == _BODY and self._body is not None and self._body.is_eof():
            self._phase = _OTHER
            self._body = None

    def _fail_body(self, error: RegauthError) -> None:
        """The handler's read of the body raises `error`, which the middleware answers; the
        connection closes after that answer. A body read after the answer (aiohttp lingers to
        drain it) stops at once."""
        assert self._body is not None
        self._body.set_exception(error)
        self._body.feed_eof()
        self.close()
        self._phase = _OTHER
        self._body = None

    def _expect(self, phase: int, timeout: float) -> None:
        self._phase = phase
        self._deadline = deadline = self._loop.time() + timeout
        timer = self._timer
        if timer is None or deadline < self._timer_at:
            # None armed, or armed for a later deadline (a body's, then the next headers').
            if timer is not None:
                timer.cancel()
            self._timer = self._loop.call_at(deadline, self._expire)
            self._timer_at = deadline

    def _expire(self) -> None:
        self._timer = None
        if self._phase == _OTHER:
            return
        if self._loop.time() < self._deadline:
            self._timer = self._loop.call_at(self._deadline, self._expire)
            self._timer_at = self._deadline
            return
        reading = "headers" if self._phase == _HEADERS else "body"
        logs.event(log, logging.DEBUG, "request_timed_out", reading=reading, remote=_remote(self))
        if self._phase == _BODY:
            self._fail_body(RequestTimeout())  # the client is told, as far as it listens
        else:
            self.force_close()  # no request yet to answer

    def handle_error(
        self,
        request: web.BaseRequest,
        status: int = 500,
        exc: BaseException | None = None,
        message: str | None = None,
    ) -> web.StreamResponse:
        """aiohttp's version logs the exception and answers its text; for a malformed request
        that is the parser's message, which quotes the offending line. Here the log names the
        error and the client gets regauth's JSON error body: neither holds the request's bytes."""
        rid = ids.request_id()
        logs.request_id.set(rid)  # this runs in a task of its own, as a handler does
        error: RegauthError
        if isinstance(exc, HttpProcessingError):
            error = HeadersTooLarge() if _too_large(exc) else BadRequest("malformed HTTP request")
            # Something else than HTTP (TLS, a scanner) at a connection's start is common on
            # an open port and says nothing about regauth; aiohttp logs it at debug too.
            quiet = isinstance(exc, BadHttpMethod) and self._request_count == 1
            _log_malformed(exc, error.status, request.remote, quiet=quiet)
        else:
            # An exception past the middleware (500) or a handler's timeout (504): ours.
            error = RegauthError()
            log.error(
                "unhandled_error",
                exc_info=exc,
                extra={"fields": {"status": status, "error": _name(exc)}},
            )
        if request.writer.output_size > 0:  # as aiohttp: the response has begun, too late
            raise ConnectionError("Response is sent already, cannot send an error response")
        response = error_response(error)
        if error.status == 500:
            response.set_status(status)
        response.headers["X-Request-Id"] = rid
        response.force_close()
        return response

    def log_exception(self, *args: Any, **kw: Any) -> None:
        """aiohttp's other error lines ("Unhandled exception" in its connection loop, ...):
        an exception about the client's bytes is named, never printed."""
        exc = kw.get("exc_info")
        if isinstance(exc, HttpProcessingError | RegauthError):
            # A parser error, or a body failed above that was being read after the answer.
            logs.event(log, logging.DEBUG, "connection_error", error=_name(exc))
        else:
            log.error("connection_error", exc_info=exc, extra={"fields": {"error": _name(exc)}})


def _log_malformed(
    exc: BaseException, status: int, remote: str | None, *, quiet: bool = False
) -> None:
    # Never str(exc), exc.message or exc.args: the parser's message quotes the request.
    logs.event(
        log,
        logging.DEBUG if quiet else logging.INFO,
        "malformed_request",
        error=_name(exc),
        status=status,
        remote=remote,
    )


def _name(exc: BaseException | None) -> str | None:
    return None if exc is None else type(exc).__name__


def _too_large(exc: HttpProcessingError) -> bool:
    # LineTooLong is the request line or a header field over its limit (aiohttp's error does
    # not say which); "Too many headers received" is the count over max_headers.
    return isinstance(exc, LineTooLong) or "Too many headers" in exc.message


def _remote(connection: Connection) -> str | None:
    peer = connection.peername
    return str(peer[0]) if isinstance(peer, tuple) else None


class Connections:
    """A worker's open connections: the protocol factory for its sites, and the cap.

    At the cap, the oldest connection that is waiting on its client (idle between requests,
    or still sending one) is closed to make room for the new one; only when every connection
    is in a request of ours is the new one closed instead. Refusing new connections while
    idle ones are held would let anyone who opens connections faster than they time out
    keep every other client, and the health check, out.
    """

    def __init__(self, server: web.Server, limits: ConnectionLimits) -> None:
        self._server = server
        self._limits = limits
        self._loop = asyncio.get_running_loop()
        self._open: dict[Connection, None] = {}  # in the order they came
        self._evicted = 0
        self._refused = 0
        self._report: asyncio.TimerHandle | None = None

    def __call__(self) -> Connection:
        return Connection(self._server, self, self._limits, loop=self._loop)

    def admit(self, connection: Connection) -> bool:
        if len(self._open) >= self._limits.max_connections:
            victim = next((c for c in self._open if c.waiting_on_client), None)
            if victim is None:
                self._refused += 1
                self._note()
                return False
            del self._open[victim]
            victim.force_close()
            self._evicted += 1
            self._note()
        self._open[connection] = None
        return True

    def forget(self, connection: Connection) -> None:
        self._open.pop(connection, None)

    def _note(self) -> None:
        if self._report is None:  # else the line that is due counts this one
            self._report_counts()

    def _report_counts(self) -> None:
        self._report = None
        if not (self._evicted or self._refused):
            return
        logs.event(
            log,
            logging.WARNING,
            "connection_limit_reached",
            max_connections=self._limits.max_connections,
            closed_idle=self._evicted,
            refused=self._refused,
            period_seconds=_REPORT_EVERY_SECONDS,
        )
        self._evicted = self._refused = 0
        self._report = self._loop.call_later(_REPORT_EVERY_SECONDS, self._report_counts)
