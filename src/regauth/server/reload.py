"""SIGHUP: the configuration read again; what may change live is swapped in, the rest waits."""

from __future__ import annotations

import logging
import os
import signal
from collections.abc import Callable
from types import FrameType

from regauth import logs
from regauth.config import Config, LiveConfig, reload_config
from regauth.errors import ConfigError

log = logging.getLogger("regauth.server")

Loader = Callable[[], Config]


def reload(settings: LiveConfig, load: Loader) -> bool:
    """Reads the config with `load` (the same file and environment `serve` started with) and
    swaps in its live keys; a config that does not load is refused and the one in force kept.
    Never raises: a reload must not stop the service."""
    try:
        new = load()
    except ConfigError as exc:
        logs.event(log, logging.ERROR, "config_reload_refused", error=exc.message, pid=os.getpid())
        return False
    outcome = reload_config(settings.current, new)
    settings.current = outcome.config
    logs.set_level(outcome.config.log.level)
    logs.event(log, logging.INFO, "config_reloaded", changed=outcome.changed, pid=os.getpid())
    if outcome.restart_needed:
        logs.event(
            log,
            logging.WARNING,
            "config_restart_needed",
            keys=outcome.restart_needed,
            pid=os.getpid(),
            kept="the running value until `regauth serve` restarts",
        )
    return True


class EarlyHangups:
    """A SIGHUP that comes while a process starts, before its loop handles the signal: noted,
    then acted on once it does (`take`), so that a reload is neither lost (a worker forked just
    before the supervisor re-read the file would keep the old config) nor fatal."""

    def __init__(self) -> None:
        self._seen = False

    def install(self) -> None:
        self._seen = False
        signal.signal(signal.SIGHUP, self._note)

    def _note(self, _signum: int, _frame: FrameType | None) -> None:
        self._seen = True

    def take(self) -> bool:
        seen, self._seen = self._seen, False
        return seen


early_hangups = EarlyHangups()
