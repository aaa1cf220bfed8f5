"""The audit trail's export: the events not yet written out (or a rollup's count since), held
for the one process that writes them, and marked when it has."""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import Any

from regauth.domain.models import AuditEvent
from regauth.store.sql.base import SqlTables

_COLUMNS = "id, at, actor, actor_kind, action, target, ip, user_agent, details, count, exported_count, aggregate_key"


class AuditExportTable(SqlTables):
    @contextmanager
    def unexported_audit(self, *, limit: int) -> Iterator[list[tuple[AuditEvent, int, bool]]]:
        """Inside one transaction, the oldest events with counts not yet exported: (event,
        how much of its count was, whether it is a rollup). They are held until the block
        ends (PostgreSQL: locked rows, which another exporter waits for and then finds
        exported; SQLite: its one write lock); `mark_audit_exported` inside the block records
        what was written."""
        if self._one("SELECT 1 FROM audit_events WHERE exported_count < count LIMIT 1") is None:
            yield []  # nothing new: a read, and no write transaction for it
            return
        # PostgreSQL: a second exporter waits for the first and then skips what it wrote, so
        # two workers of one host never write their batches to one stdout at once.
        lock = " FOR UPDATE" if self._backend.dialect.row_lock else ""
        with self._transaction(announce=False) as conn:
            rows = conn.execute(
                f"SELECT {_COLUMNS} FROM audit_events WHERE exported_count < count "
                f"ORDER BY id LIMIT ?{lock}",
                (limit,),
            ).fetchall()
            yield [(_event(r), int(r[10]), r[11] is not None) for r in rows]

    def mark_audit_exported(self, exported: Sequence[tuple[int, int]]) -> None:
        """(event id, the count written out so far)."""
        with self._transaction(announce=False) as conn:
            conn.executemany(
                "UPDATE audit_events SET exported_count = ? WHERE id = ?",
                [(count, event_id) for event_id, count in exported],
            )


def _event(row: tuple[Any, ...]) -> AuditEvent:
    return AuditEvent(
        id=row[0],
        at=row[1],
        actor=row[2],
        actor_kind=row[3],
        action=row[4],
        target=row[5],
        ip=row[6],
        user_agent=row[7],
        details=json.loads(row[8]) if row[8] else None,
        count=row[9],
    )
