"""Running the service: N worker processes sharing the port through SO_REUSEPORT, supervised."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import sys
import time
from types import FrameType

from aiohttp import web

from regauth import logs
from regauth.app import create_app
from regauth.config import Config
from regauth.runtime import open_runtime

log = logging.getLogger("regauth.server")
_RESTART_BACKOFF_SECONDS = 1.0


def serve(config: Config) -> None:
    logs.configure(config.log.level)
    # Create keys and migrate the schema once, before any worker exists.
    runtime = open_runtime(config)
    logs.event(
        log,
        logging.INFO,
        "starting",
        listen=config.server.listen,
        workers=config.worker_count,
        algorithm=runtime.keyring.active.algorithm,
        kid=runtime.keyring.active.kid,
        realm=config.realm,
        issuer=config.token.issuer,
        service=list(config.token.service),
    )
    runtime.close()
    if config.worker_count == 1:
        run_worker(config, reuse_port=False)
    else:
        _supervise(config)


def run_worker(config: Config, *, reuse_port: bool) -> None:
    _install_uvloop()
    runtime = open_runtime(config)
    try:
        app = create_app(runtime)
        _tune_gc()
        web.run_app(
            app,
            host=config.listen_host,
            port=config.listen_port,
            reuse_port=reuse_port,
            access_log=None,
            print=None,
            handle_signals=True,
            shutdown_timeout=5.0,
        )
    finally:
        runtime.close()


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


def _supervise(config: Config) -> None:
    children: dict[int, int] = {}  # pid -> worker index
    stopping = False

    def spawn(index: int) -> None:
        pid = os.fork()
        if pid == 0:
            code = 0
            try:
                signal.signal(signal.SIGTERM, signal.SIG_DFL)
                signal.signal(signal.SIGINT, signal.SIG_DFL)
                run_worker(config, reuse_port=True)
            except SystemExit:
                pass  # aiohttp's GracefulExit on SIGTERM/SIGINT: a normal stop
            except BaseException:
                log.exception("worker_failed")
                code = 1
            finally:
                logging.shutdown()
                os._exit(code)
        children[pid] = index

    def stop(signum: int, _frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True
        for pid in list(children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    for index in range(config.worker_count):
        spawn(index)
    while children:
        try:
            pid, status = os.wait()
        except ChildProcessError:
            break
        if pid not in children or stopping:
            children.pop(pid, 0)
            continue
        index = children.pop(pid)
        logs.event(log, logging.ERROR, "worker_exited", pid=pid, status=status, restarting=True)
        time.sleep(_RESTART_BACKOFF_SECONDS)
        spawn(index)
    sys.exit(0)
