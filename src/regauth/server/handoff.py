"""Connections dealt round-robin: the supervisor accepts, each worker gets the next one in turn.

With SO_REUSEPORT the kernel hashes each connection to a worker, so a handful of long-lived
keep-alive connections (a proxy's pool, CI runners, a load test's 32) split unevenly, 20/12
as often as 16/16, and the worker with fewer sits idle while the other has a queue
(bench/run.py: two workers gave 15.4k req/s at 20/12 and 17.1k at 18/14). Dealing them in
turn, as Node's cluster module does, makes the split even whatever the addresses and ports.
Only connection set-up passes through the supervisor: one accept and one sendmsg of the
descriptor over a Unix socket; requests go straight to the worker.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import time
from collections.abc import Callable

from aiohttp import web

from regauth import logs
from regauth.errors import ConfigError

log = logging.getLogger("regauth.server")
# Descriptors received per read of a worker's channel, at most.
_FDS_PER_READ = 64
_ACCEPT_BACKOFF_SECONDS = 0.1
BACKLOG = 128  # as aiohttp's


def listen(host: str, port: int, *, backlog: int = BACKLOG) -> list[socket.socket]:
    """Non-blocking listening sockets on every address `host` resolves to (as aiohttp binds)."""
    listeners: list[socket.socket] = []
    try:
        for family, kind, proto, _, address in socket.getaddrinfo(
            host or None, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE
        ):
            listener = socket.socket(family, kind, proto)
            listeners.append(listener)
            listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            if family == socket.AF_INET6:
                listener.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
            listener.bind(address)
            listener.listen(backlog)
            listener.setblocking(False)
    except OSError as exc:
        for listener in listeners:
            listener.close()
        # One line for the operator, not a traceback: what, and what to change.
        where = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
        raise ConfigError(
            f"server.listen: cannot listen on {where}: {exc.strerror or exc} "
            "(another process holds it? set [server] listen or REGAUTH_SERVER_LISTEN)"
        ) from None
    return listeners


def channel_pair() -> tuple[socket.socket, socket.socket]:
    """(the supervisor's end, the worker's end): one message per descriptor."""
    dealer_end, worker_end = socket.socketpair(socket.AF_UNIX, socket.SOCK_SEQPACKET)
    dealer_end.setblocking(False)
    return dealer_end, worker_end


class Dealer:
    """The supervisor's side: accept what is pending and hand it to the next worker in turn."""

    def __init__(self) -> None:
        self._channels: dict[int, socket.socket] = {}  # worker index -> its channel
        self._turn = 0

    def add(self, index: int, channel: socket.socket) -> None:
        self.remove(index)
        self._channels[index] = channel

    def remove(self, index: int) -> None:
        channel = self._channels.pop(index, None)
        if channel is not None:
            channel.close()

    def close(self) -> None:
        for index in list(self._channels):
            self.remove(index)

    def deal(self, listener: socket.socket) -> int:
        """Accept every pending connection and pass each on; returns how many were passed."""
        dealt = 0
        while True:
            try:
                connection, _ = listener.accept()
            except (BlockingIOError, InterruptedError):
                return dealt
            except ConnectionAbortedError:  # the client gave up while it waited in the queue
                continue
            except OSError as exc:  # out of descriptors or memory: the rest wait in the queue
                logs.event(log, logging.ERROR, "accept_failed", error=exc.strerror)
                time.sleep(_ACCEPT_BACKOFF_SECONDS)  # not a busy loop while it lasts
                return dealt
            with connection:  # the worker holds its own copy once sent
                if self._pass_on(connection):
                    dealt += 1

    def _pass_on(self, connection: socket.socket) -> bool:
        """To the next worker that takes it; a worker that is gone or stuck is skipped."""
        indexes = sorted(self._channels)
        for offset in range(len(indexes)):
            index = indexes[(self._turn + offset) % len(indexes)]
            try:
                socket.send_fds(self._channels[index], [b"c"], [connection.fileno()])
            except OSError:  # exited (EPIPE/ECONNREFUSED) or its queue is full (EAGAIN)
                continue
            self._turn = (self._turn + offset + 1) % len(indexes)
            return True
        logs.event(log, logging.ERROR, "connection_dropped", reason="no worker took it")
        return False


class HandoffSite(web.BaseSite):
    """A worker's side: serve the connections that arrive on `channel`.

    When the supervisor is gone (end of file on the channel) no connection will come any
    more: the worker stops as on SIGTERM, finishing the requests it has.
    """

    __slots__ = ("_arriving", "_channel", "_connections")

    def __init__(
        self,
        runner: web.BaseRunner,
        channel: socket.socket,
        connections: Callable[[], asyncio.Protocol],
    ) -> None:
        super().__init__(runner)
        self._channel = channel
        self._connections = connections  # the protocol factory (connections.Connections)
        # Connections being set up: held here, as the loop keeps only weak references.
        self._arriving: set[asyncio.Task[None]] = set()

    @property
    def name(self) -> str:
        return "connections from the supervisor"

    async def start(self) -> None:
        await super().start()
        self._channel.setblocking(False)
        loop = asyncio.get_running_loop()
        loop.add_reader(self._channel.fileno(), self._receive, loop)

    async def stop(self) -> None:
        if self._channel.fileno() != -1:
            asyncio.get_running_loop().remove_reader(self._channel.fileno())
            self._channel.close()
        await super().stop()

    def _receive(self, loop: asyncio.AbstractEventLoop) -> None:
        while True:
            try:
                message, fds, _, _ = socket.recv_fds(self._channel, 1, _FDS_PER_READ)
            except (BlockingIOError, InterruptedError):
                return
            if not message and not fds:  # the supervisor has gone
                loop.remove_reader(self._channel.fileno())
                os.kill(os.getpid(), signal.SIGTERM)
                return
            for fd in fds:
                connection = socket.socket(fileno=fd)
                connection.setblocking(False)
                task = loop.create_task(_serve(loop, self._connections, connection))
                self._arriving.add(task)
                task.add_done_callback(self._arriving.discard)


async def _serve(
    loop: asyncio.AbstractEventLoop,
    connections: Callable[[], asyncio.Protocol],
    connection: socket.socket,
) -> None:
    try:
        await loop.connect_accepted_socket(connections, connection)
    except OSError:  # the client left before we got to it
        with contextlib.suppress(OSError):
            connection.close()
