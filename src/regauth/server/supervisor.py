"""Running the service: one process, or N workers that a supervisor deals connections to."""

from __future__ import annotations

import contextlib
import logging
import os
import selectors
import signal
import socket
import sys
import time
from pathlib import Path
from types import FrameType
from typing import NoReturn

from regauth import logs
from regauth.config import Config, LiveConfig
from regauth.http.connections import connection_cap
from regauth.metrics.exposition import process_dead
from regauth.runtime import open_runtime
from regauth.server import handoff
from regauth.server.metrics import MetricsSetup, metrics_setup
from regauth.server.reload import Loader, early_hangups, reload
from regauth.server.worker import raise_open_files_limit, run_worker
from regauth.store.describe import describe_storage

log = logging.getLogger("regauth.server")
_RESTART_BACKOFF_SECONDS = 1.0


def serve(config: Config, *, load: Loader | None = None) -> None:
    """Serve until SIGTERM/SIGINT; SIGHUP reads the config again with `load` (reload.py)."""
    # Until the handlers are in place a HUP must not end the process (its default action).
    early_hangups.install()
    logs.configure(config.log.level)
    # Before forking: the workers inherit it.
    open_files = raise_open_files_limit()
    max_connections = connection_cap(config.server.max_connections, open_files)
    if max_connections < config.server.max_connections:
        logs.event(
            log,
            logging.WARNING,
            "max_connections_lowered",
            configured=config.server.max_connections,
            max_connections=max_connections,
            open_files=open_files,
        )
    # Create keys and migrate the schema once, before any worker exists.
    runtime = open_runtime(config, serving=True)
    logs.event(
        log,
        logging.INFO,
        "starting",
        listen=config.server.listen,
        workers=config.worker_count,
        open_files=open_files,
        max_connections=max_connections,  # per worker
        algorithm=runtime.keyring.active.algorithm,
        kid=runtime.keyring.active.kid,
        realm=config.realm,
        issuer=config.token.issuer,
        service=list(config.token.service),
        database=describe_storage(config.storage),
        keys_dir=str(Path(config.keys.dir).resolve()),
    )
    if not runtime.users.list():
        # A new deployment: what to do next, where the operator is looking.
        logs.event(
            log,
            logging.WARNING,
            "no_users_yet",
            next_step="regauth user add NAME --admin --password-stdin (with the same --config)",
        )
    runtime.close()
    with metrics_setup(config) as metrics:
        if config.worker_count == 1:
            run_worker(config, load=load, metrics=metrics)
        else:
            _supervise(config, load, metrics)


def _supervise(config: Config, load: Loader | None, metrics: MetricsSetup | None = None) -> None:
    with _Supervisor(config, load, metrics) as supervisor:
        supervisor.run()
    sys.exit(0)


_SUPERVISOR_SIGNALS = {signal.SIGTERM, signal.SIGINT, signal.SIGCHLD, signal.SIGHUP}


class _Supervisor:
    """Forks the workers, deals them connections in turn (handoff.py), restarts any that dies,
    stops them all on SIGTERM/SIGINT, and on SIGHUP reads the config again and passes the
    signal on: each worker reads it too (a worker forked later starts with what the supervisor
    read). Signal handlers only set a flag; the loop does the work."""

    def __init__(
        self, config: Config, load: Loader | None = None, metrics: MetricsSetup | None = None
    ) -> None:
        self._settings = LiveConfig(config)
        self._load = load
        self._reload_due = False
        self._metrics = metrics
        self._listeners = handoff.listen(config.listen_host, config.listen_port)
        self._dealer = handoff.Dealer()
        self._children: dict[int, int] = {}  # pid -> worker index
        self._restarts: dict[int, float] = {}  # worker index -> when to start it again
        self._stopping = False
        # A signal writes a byte here (set_wakeup_fd), which wakes the select() below.
        self._wake_r, self._wake_w = socket.socketpair()
        for end in (self._wake_r, self._wake_w):
            end.setblocking(False)
        self._selector = selectors.DefaultSelector()
        self._selector.register(self._wake_r, selectors.EVENT_READ)
        for listener in self._listeners:
            self._selector.register(listener, selectors.EVENT_READ)

    def __enter__(self) -> _Supervisor:
        signal.set_wakeup_fd(self._wake_w.fileno())
        signal.signal(signal.SIGTERM, self._stop)
        signal.signal(signal.SIGINT, self._stop)
        signal.signal(signal.SIGCHLD, lambda _signum, _frame: None)
        signal.signal(signal.SIGHUP, self._hup)
        self._reload_due = early_hangups.take()
        return self

    def __exit__(self, *_exc: object) -> None:
        signal.set_wakeup_fd(-1)
        self._close()

    def run(self) -> None:
        for index in range(self._settings.current.worker_count):
            self._spawn(index)
        while self._children or (self._restarts and not self._stopping):
            due = min(self._restarts.values(), default=None)
            timeout = None if due is None else max(0.0, due - time.monotonic())
            for key, _ in self._selector.select(timeout):
                if key.fileobj is self._wake_r:
                    with contextlib.suppress(BlockingIOError):
                        self._wake_r.recv(4096)
                elif isinstance(key.fileobj, socket.socket):
                    self._dealer.deal(key.fileobj)
            self._reap()
            if self._reload_due and not self._stopping:
                self._reload()
            if self._stopping and self._listeners:
                logs.event(log, logging.INFO, "stopping", pid=os.getpid())
                self._stop_dealing()
            for index, due in list(self._restarts.items()):
                if due <= time.monotonic():
                    del self._restarts[index]
                    self._spawn(index)
        if self._stopping:
            logs.event(log, logging.INFO, "stopped", pid=os.getpid())

    def _reload(self) -> None:
        self._reload_due = False
        # The workers read the file themselves, each into its own runtime; the supervisor's
        # copy is for the workers it forks from now on.
        if self._load is not None:
            reload(self._settings, self._load)
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGHUP)

    def _spawn(self, index: int) -> None:
        dealer_end, worker_end = handoff.channel_pair()
        # No supervisor handler may run in the child before it has put back the defaults.
        signal.pthread_sigmask(signal.SIG_BLOCK, _SUPERVISOR_SIGNALS)
        pid = os.fork()
        if pid == 0:
            dealer_end.close()
            self._become_worker(worker_end)  # never returns
        signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)
        worker_end.close()
        self._dealer.add(index, dealer_end)
        self._children[pid] = index

    def _become_worker(self, channel: socket.socket) -> NoReturn:
        code = 0
        try:
            signal.set_wakeup_fd(-1)
            for signum in _SUPERVISOR_SIGNALS:
                signal.signal(signum, signal.SIG_DFL)
            # Until run_worker handles it, a HUP is noted, not fatal, and acted on then.
            early_hangups.install()
            signal.pthread_sigmask(signal.SIG_UNBLOCK, _SUPERVISOR_SIGNALS)
            self._close()  # the listeners and the other workers' channels are not its own
            run_worker(
                self._settings.current, channel=channel, load=self._load, metrics=self._metrics
            )
        except SystemExit:
            pass  # a deliberate stop (SIGTERM/SIGINT end run_worker normally)
        except BaseException:
            log.exception("worker_failed")
            code = 1
        finally:
            logging.shutdown()
            os._exit(code)

    def _hup(self, _signum: int, _frame: FrameType | None) -> None:
        self._reload_due = True

    def _stop(self, _signum: int, _frame: FrameType | None) -> None:
        self._stopping = True
        for pid in list(self._children):
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGTERM)

    def _stop_dealing(self) -> None:
        """No new connections; the workers finish the ones they have. Closing their channels
        also stops any worker that a SIGTERM missed (one forked as the signal came)."""
        for listener in self._listeners:
            self._selector.unregister(listener)
            listener.close()
        self._listeners.clear()
        self._dealer.close()
        self._restarts.clear()

    def _reap(self) -> None:
        while self._children:
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                self._children.clear()
                return
            if pid == 0:
                return
            index = self._children.pop(pid, None)
            if index is None:
                continue
            if self._metrics is not None:  # its counts stay; its checks in flight are over
                process_dead(self._metrics.directory, pid)
            self._dealer.remove(index)
            if not self._stopping:
                logs.event(
                    log, logging.ERROR, "worker_exited", pid=pid, status=status, restarting=True
                )
                self._restarts[index] = time.monotonic() + _RESTART_BACKOFF_SECONDS

    def _close(self) -> None:
        self._selector.close()
        self._dealer.close()
        for sock in (*self._listeners, self._wake_r, self._wake_w):
            sock.close()
