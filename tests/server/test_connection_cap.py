"""The cap on a worker's connections, in process on real sockets: which connection makes room
for a new one, when a new one is refused, and that it is said once, not per connection."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import pytest
from aiohttp import web

from regauth.http import connections as connections_module
from regauth.http.connections import ConnectionLimits, Connections
from regauth.server import handoff
from regauth.server.worker import ListenerSite

CAP = 3


@dataclass
class Worker:
    port: int
    release: asyncio.Event  # lets the requests to /slow finish


@asynccontextmanager
async def worker() -> AsyncIterator[Worker]:
    """An app with a handler that waits (/slow) and one that does not (/fast), served by
    regauth's connections with a cap of 3, as a worker serves its listener."""
    release = asyncio.Event()

    async def slow(_: web.Request) -> web.Response:
        await release.wait()
        return web.Response(text="slow")

    async def fast(_: web.Request) -> web.Response:
        return web.Response(text="fast")

    app = web.Application()
    app.router.add_get("/slow", slow)
    app.router.add_get("/fast", fast)
    runner = web.AppRunner(app)
    await runner.setup()
    assert runner.server is not None
    limits = ConnectionLimits(
        header_timeout=30, body_timeout=30, keepalive_timeout=30, max_connections=CAP
    )
    (listener,) = handoff.listen("127.0.0.1", 0)
    site = ListenerSite(runner, listener, Connections(runner.server, limits))
    await site.start()
    try:
        yield Worker(listener.getsockname()[1], release)
    finally:
        release.set()
        await runner.cleanup()


class Client:
    def __init__(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.reader, self.writer = reader, writer

    @classmethod
    async def connect(cls, port: int) -> Client:
        client = cls(*await asyncio.open_connection("127.0.0.1", port))
        await asyncio.sleep(0.05)  # until the worker has taken it
        return client

    async def get(self, path: str) -> None:
        self.writer.write(f"GET {path} HTTP/1.1\r\nHost: x\r\n\r\n".encode())
        await self.writer.drain()
        await asyncio.sleep(0.05)  # until its handler runs

    async def response(self) -> bytes:
        head = await asyncio.wait_for(self.reader.readuntil(b"\r\n\r\n"), 2)
        length = int(head.lower().split(b"content-length:")[1].split(b"\r\n")[0])
        return head + await self.reader.readexactly(length)

    async def closed_by_server(self, within: float = 1.0) -> bool:
        try:
            return await asyncio.wait_for(self.reader.read(), within) == b""
        except TimeoutError:
            return False
        except ConnectionResetError:
            return True

    def close(self) -> None:
        self.writer.close()


# Both loops a worker may run on (`regauth serve` uses uvloop when it is installed).
@pytest.mark.parametrize("loop", ["asyncio", "uvloop"])
def test_at_the_cap_the_oldest_client_that_keeps_us_waiting_makes_room(
    loop: str, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(connections_module, "_REPORT_EVERY_SECONDS", 0.3)
    caplog.set_level(logging.WARNING, "regauth.server")
    run = pytest.importorskip("uvloop").run if loop == "uvloop" else asyncio.run
    run(_fill_the_cap())
    lines = [r for r in caplog.records if r.getMessage() == "connection_limit_reached"]
    # The first time at once; what followed within the period, counted in one more line.
    assert [
        (r.__dict__["fields"]["closed_idle"], r.__dict__["fields"]["refused"]) for r in lines
    ] == [(1, 0), (1, 1)]
    assert all(r.__dict__["fields"]["max_connections"] == CAP for r in lines)


async def _fill_the_cap() -> None:
    async with worker() as w:
        idle = await Client.connect(w.port)
        busy = [await Client.connect(w.port) for _ in range(2)]
        for client in busy:
            await client.get("/slow")
        clients = [idle, *busy]
        try:
            # Full: the connection that sent nothing is closed for the new one...
            newcomer = await Client.connect(w.port)
            clients.append(newcomer)
            assert await idle.closed_by_server()
            await newcomer.get("/fast")
            assert (await newcomer.response()).endswith(b"fast")
            # ... and then the one idle after its request, for the next one.
            second = await Client.connect(w.port)
            clients.append(second)
            assert await newcomer.closed_by_server()
            await second.get("/slow")
            # Now every connection is in a request of ours: the new one is closed, at once.
            refused = await Client.connect(w.port)
            clients.append(refused)
            assert await refused.closed_by_server(within=0.5)
            # The requests in progress were not disturbed.
            w.release.set()
            for client in (*busy, second):
                assert (await client.response()).endswith(b"slow")
            await asyncio.sleep(0.4)  # the period of the cap's log line (0.3 s here)
        finally:
            for client in clients:
                client.close()
