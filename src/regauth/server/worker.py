"""A worker: one process serving the app, on its own listeners or on connections handed over."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import resource
import signal
import socket
import sys

from aiohttp import web

from regauth import logs
from regauth.config import Config, LiveConfig
from regauth.http.connections import ConnectionLimits, Connections
from regauth.http.metrics import METRICS, create_metrics_app
from regauth.runtime import open_runtime
from regauth.server import handoff, memory
from regauth.server.metrics import MetricsSetup
from regauth.server.reload import Loader, early_hangups, reload
from regauth.web.app import create_site

log = logging.getLogger("regauth.server")
_SHUTDOWN_TIMEOUT_SECONDS = 5.0


def run_worker(
    config: Config,
    *,
    channel: socket.socket | None = None,
    load: Loader | None = None,
    metrics: MetricsSetup | None = None,
) -> None:
    """Serve until SIGTERM/SIGINT: on the configured address, or, under a supervisor, the
    connections it hands over on `channel` (handoff.py). SIGHUP reads the config again with
    `load` (reload.py); without one it is ignored: it never stops the service. `metrics`:
    serve's folder for the workers' counts and the `[metrics] listen` socket, if any
    (server/metrics.py)."""
    _install_uvloop()
    limits = ConnectionLimits.for_worker(config.server, open_files=raise_open_files_limit())
    listeners = handoff.listen(config.listen_host, config.listen_port) if channel is None else []
    # Not the configured algorithm: the key files say which key signs (`regauth keys activate`).
    runtime = open_runtime(config, serving=True, check_algorithm=False)
    try:
        app = create_site(runtime, metrics_dir=metrics.directory if metrics else None)
        _tune_gc()
        memory.return_large_blocks()
        metrics_listener = metrics.listener if metrics else None
        asyncio.run(
            _serve_app(app, limits, listeners, channel, runtime.settings, load, metrics_listener)
        )
    finally:
        for listener in listeners:
            listener.close()
        runtime.close()


async def _serve_app(
    app: web.Application,
    limits: ConnectionLimits,
    listeners: list[socket.socket],
    channel: socket.socket | None,
    settings: LiveConfig,
    load: Loader | None,
    metrics_listener: socket.socket | None = None,
) -> None:
    """Until SIGTERM/SIGINT; then no new connections, and the requests in progress finish
    (up to the shutdown timeout) before the app's cleanup writes what is batched."""
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, stop.set)
    if load is not None:
        loop.add_signal_handler(signal.SIGHUP, reload, settings, load)
        if early_hangups.take():  # one came while this worker started
            reload(settings, load)
    else:
        loop.add_signal_handler(signal.SIGHUP, lambda: None)
    runner = web.AppRunner(app, access_log=None, shutdown_timeout=_SHUTDOWN_TIMEOUT_SECONDS)
    metrics_runner: web.AppRunner | None = None
    trimming: asyncio.Task[None] | None = None
    await runner.setup()
    try:
        assert runner.server is not None  # made by setup()
        connections = Connections(runner.server, limits)
        sites: list[web.BaseSite] = [
            ListenerSite(runner, listener, connections) for listener in listeners
        ]
        if channel is not None:
            sites.append(handoff.HandoffSite(runner, channel, connections))
        for site in sites:
            await site.start()
        trimming = asyncio.create_task(memory.trim_after_load(runner.server))
        if metrics_listener is not None and METRICS in app:
            # Every worker accepts on the one socket; each answers with all workers' counts.
            metrics_runner = web.AppRunner(create_metrics_app(app[METRICS]), access_log=None)
            await metrics_runner.setup()
            await web.SockSite(metrics_runner, metrics_listener).start()
        await stop.wait()
        logs.event(log, logging.INFO, "stopping", pid=os.getpid())
    finally:
        if trimming is not None:
            trimming.cancel()
        if metrics_runner is not None:
            await metrics_runner.cleanup()
        await runner.cleanup()
    logs.event(log, logging.INFO, "stopped", pid=os.getpid())


class ListenerSite(web.BaseSite):
    """Serve the connections accepted on a listening socket (handoff.listen), as aiohttp's
    SockSite does, with regauth's connections (connections.py) instead of aiohttp's."""

    __slots__ = ("_connections", "_listener")

    def __init__(
        self, runner: web.BaseRunner, listener: socket.socket, connections: Connections
    ) -> None:
        super().__init__(runner)
        self._listener = listener
        self._connections = connections

    @property
    def name(self) -> str:
        host, port = self._listener.getsockname()[:2]
        return f"http://{host}:{port}"

    async def start(self) -> None:
        await super().start()
        self._server = await asyncio.get_running_loop().create_server(
            self._connections, sock=self._listener, backlog=handoff.BACKLOG
        )


def raise_open_files_limit() -> int:
    """The soft RLIMIT_NOFILE raised to the hard one (each connection is a descriptor, and
    many systems start processes with 1024); returns the limit now in force."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft != hard:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
        except (ValueError, OSError):  # e.g. a hard limit of "unlimited", not settable as such
            pass
        else:
            soft = hard
    return sys.maxsize if soft == resource.RLIM_INFINITY else soft


# Young collections after this many new container objects instead of 700: a /token request
# leaves almost nothing cyclic behind, so most collections found nothing to free.
_GC_THRESHOLDS = (10_000, 20, 20)


def _tune_gc() -> None:
    """Everything built so far (modules, keys, the app) lives as long as the worker: frozen,
    the cycle collector stops walking it. Without this, a full collection every few thousand
    requests walked ~10^5 start-up objects and showed as the p99 of one worker (17-20 ms,
    now 6-7 ms at 32 connections) and cost ~5 µs a request (bench/run.py)."""
    gc.collect()
    gc.freeze()
    gc.set_threshold(*_GC_THRESHOLDS)


def _install_uvloop() -> None:
    try:
        import uvloop
    except ImportError:  # optional: plain asyncio works, uvloop is faster
        return
    asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
