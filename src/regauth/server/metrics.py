"""What `regauth serve` prepares for /metrics before any worker exists: the folder the workers
publish their counts to (private, removed when serve ends), and the `[metrics] listen` socket
that every worker accepts on (bound once, inherited through fork)."""

from __future__ import annotations

import contextlib
import shutil
import socket
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from regauth.config import Config
from regauth.errors import ConfigError


@dataclass(frozen=True)
class MetricsSetup:
    directory: Path
    # None: /metrics is on the main listener.
    listener: socket.socket | None


@contextlib.contextmanager
def metrics_setup(config: Config) -> Iterator[MetricsSetup | None]:
    """None when `[metrics] enabled = false`."""
    if not config.metrics.enabled:
        yield None
        return
    listener = _listen(config.metrics.listen) if config.metrics.listen else None
    # A folder of its own for each serve: counts of an earlier run are never summed in.
    directory = Path(tempfile.mkdtemp(prefix="regauth-metrics-"))
    try:
        yield MetricsSetup(directory, listener)
    finally:
        if listener is not None:
            listener.close()
        shutil.rmtree(directory, ignore_errors=True)


def _listen(listen: str) -> socket.socket:
    host, _, port = listen.rpartition(":")
    host = host.strip("[]")
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        listener = socket.create_server((host, int(port)), family=family, backlog=128)
    except OSError as exc:
        raise ConfigError(
            f"metrics.listen: cannot listen on {listen}: {exc.strerror or exc} "
            "(another process holds it? set [metrics] listen or REGAUTH_METRICS_LISTEN)"
        ) from None
    listener.setblocking(False)
    return listener
