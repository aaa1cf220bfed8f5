"""The audit export (`[audit] export`): every audit event as one JSON line, for a SIEM, written
once per deployment by whichever process holds the events (the database decides)."""

from __future__ import annotations

import json
import os
import sys
from collections.abc import Callable
from typing import Any, Protocol, TextIO

from regauth.config import AUDIT_FILE, AUDIT_STDOUT, LiveConfig
from regauth.domain.models import AuditEvent
from regauth.domain.redaction import scrub_value
from regauth.domain.timefmt import rfc3339
from regauth.store.base import AuditExportStore, Database

SCHEMA = "regauth.audit/1"
BATCH = 500
# Failed sign-ins are counted per username, address and reason in windows of this length
# (services/audit.py); a rollup's line names its window.
ROLLUP_WINDOW_SECONDS = 3600


class ExportStore(Database, AuditExportStore, Protocol):
    """The audit trail and how much of it was exported."""


def line(event: AuditEvent, *, exported: int, rollup: bool) -> dict[str, Any]:
    """One event's line (schema `regauth.audit/1`, documented in the README). A rollup of
    failed sign-ins is written again whenever its count grew: `count` is what it grew by,
    `rollup.total` the window's count so far. Every text is scrubbed of anything shaped like
    a credential, whatever the event holds."""
    window = event.at - event.at % ROLLUP_WINDOW_SECONDS
    record = {
        "schema": SCHEMA,
        "id": event.id,
        "time": rfc3339(event.at),
        "action": event.action,
        "actor": event.actor,
        "actor_kind": event.actor_kind,
        "target": event.target,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "details": event.details or {},
        "count": event.count - exported,
        "rollup": {
            "window_start": rfc3339(window),
            "window_end": rfc3339(window + ROLLUP_WINDOW_SECONDS),
            "total": event.count,
        }
        if rollup
        else None,
    }
    scrubbed: dict[str, Any] = scrub_value(record)
    return scrubbed


class AuditExporter:
    def __init__(
        self,
        store: ExportStore,
        *,
        settings: LiveConfig,
        stdout: Callable[[], TextIO] = lambda: sys.stdout,
    ) -> None:
        self._store = store
        self._settings = settings
        self._stdout = stdout

    @property
    def enabled(self) -> bool:
        return bool(self._settings.current.audit.export)

    def export(self, *, limit: int = BATCH) -> int:
        """One batch, oldest first (in a store thread); returns how many lines were written.
        The lines are written while the events are held: if writing fails, nothing is marked
        and the next round writes them; if the commit fails after the write, they are written
        again (a line's `id` and `rollup.total` tell a repeat)."""
        target = self._settings.current.audit.export
        if not target:
            return 0
        with self._store.unexported_audit(limit=limit) as batch:
            if not batch:
                return 0
            text = "".join(
                json.dumps(line(e, exported=done, rollup=rollup), sort_keys=True) + "\n"
                for e, done, rollup in batch
            )
            self._write(target, text)
            self._store.mark_audit_exported([(e.id or 0, e.count) for e, _, _ in batch])
        return len(batch)

    def _write(self, target: str, text: str) -> None:
        if target == AUDIT_STDOUT:
            out = self._stdout()
            out.write(text)
            out.flush()
            return
        assert target.startswith(AUDIT_FILE)  # config.py checked it
        # Opened for every batch: after a rotation (the file renamed away), a new one is made.
        with open(target[len(AUDIT_FILE) :], "a", encoding="utf-8") as out:
            out.write(text)
            out.flush()
            os.fsync(out.fileno())
