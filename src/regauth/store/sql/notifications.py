"""Table of webhook notifications: one row per event (its dedup key makes it once per
deployment), claimed for delivery by a conditional UPDATE so that one process sends each."""

from __future__ import annotations

from typing import Any

from regauth.domain.hygiene import Claimed, Notification, NotificationQuery, NotificationState
from regauth.store.sql.base import SqlTables

_COLUMNS = (
    "id, event, dedup_key, payload, created_at, next_attempt_at, attempts, delivered_at, "
    "failed_at, last_status, last_error"
)
# Neither delivered nor given up, due, and not held by a process sending it now.
_DUE = (
    "delivered_at IS NULL AND failed_at IS NULL AND next_attempt_at <= ? "
    "AND (claimed_until IS NULL OR claimed_until <= ?)"
)
_STATES = {
    NotificationState.DELIVERED: "delivered_at IS NOT NULL",
    NotificationState.FAILED: "failed_at IS NOT NULL",
    NotificationState.PENDING: "delivered_at IS NULL AND failed_at IS NULL",
}


class NotificationsTable(SqlTables):
    def add_notification(self, notification: Notification) -> bool:
        """False when an event of the same dedup key is there already (made by this or
        another process, delivered or not): each event is sent once."""
        n = notification
        # No cache holds a notification: the insert tells nobody.
        with self._transaction(announce=False) as conn:
            cur = conn.execute(
                "INSERT INTO notifications (id, event, dedup_key, payload, created_at, "
                "next_attempt_at) VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (dedup_key) DO NOTHING",
                (n.id, n.event, n.dedup_key, n.payload, n.created_at, n.next_attempt_at),
            )
        return cur.rowcount > 0

    def claim_notifications(self, *, now: int, hold_until: int, limit: int) -> list[Claimed]:
        """Due notifications, each held until `hold_until` and its attempt counted, for this
        caller alone. The WHERE is repeated outside the subquery: a replica that picked the
        same rows waits for this UPDATE's row locks, then re-checks it and skips them
        (PostgreSQL's READ COMMITTED); SQLite runs the statement under its one write lock."""
        if self._one(f"SELECT 1 FROM notifications WHERE {_DUE} LIMIT 1", (now, now)) is None:
            return []  # the usual answer, from a read: no write transaction for it
        with self._transaction(announce=False) as conn:
            rows = conn.execute(
                "UPDATE notifications SET claimed_until = ?, attempts = attempts + 1 "
                f"WHERE id IN (SELECT id FROM notifications WHERE {_DUE} "
                f"ORDER BY next_attempt_at, created_at, id LIMIT ?) AND {_DUE} "
                "RETURNING id, event, payload, attempts",
                (hold_until, now, now, limit, now, now),
            ).fetchall()
        return sorted((Claimed(r[0], r[1], r[2], int(r[3])) for r in rows), key=lambda c: c.id)

    def finish_notification(
        self,
        notification_id: str,
        *,
        now: int,
        delivered: bool,
        status: int | None,
        error: str | None,
        retry_at: int | None,
    ) -> None:
        """An attempt's outcome: delivered; or failed, and retried at `retry_at` (None: given
        up for good)."""
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE notifications SET claimed_until = NULL, last_status = ?, last_error = ?, "
                "delivered_at = ?, failed_at = ?, next_attempt_at = COALESCE(?, next_attempt_at) "
                "WHERE id = ?",
                (
                    status,
                    error,
                    now if delivered else None,
                    None if delivered or retry_at is not None else now,
                    retry_at,
                    notification_id,
                ),
            )

    def retry_notification(self, notification_id: str, *, now: int) -> Notification | None:
        """Pending again with a fresh count of attempts, due now (an admin's retry after the
        receiver was fixed); a delivered one is left as it is."""
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE notifications SET failed_at = NULL, attempts = 0, next_attempt_at = ?, "
                "claimed_until = NULL WHERE id = ? AND delivered_at IS NULL",
                (now, notification_id),
            )
        return self.get_notification(notification_id)

    def get_notification(self, notification_id: str) -> Notification | None:
        row = self._one(f"SELECT {_COLUMNS} FROM notifications WHERE id = ?", (notification_id,))
        return _notification(row) if row else None

    def list_notifications(self, query: NotificationQuery) -> list[Notification]:
        clauses: list[str] = []
        params: list[Any] = []
        if query.state is not None:
            clauses.append(_STATES[query.state])
        if query.event is not None:
            clauses.append("event = ?")
            params.append(query.event)
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM notifications {where} "
            "ORDER BY created_at DESC, id LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [_notification(r) for r in rows]

    def purge_notifications(self, *, before: int) -> int:
        """Delivered and given-up notifications made before `before`."""
        with self._transaction(announce=False) as conn:
            cur = conn.execute(
                "DELETE FROM notifications WHERE created_at < ? "
                "AND (delivered_at IS NOT NULL OR failed_at IS NOT NULL)",
                (before,),
            )
        return cur.rowcount


def _notification(row: tuple[Any, ...]) -> Notification:
    return Notification(
        id=row[0],
        event=row[1],
        dedup_key=row[2],
        payload=row[3],
        created_at=row[4],
        next_attempt_at=row[5],
        attempts=int(row[6]),
        delivered_at=row[7],
        failed_at=row[8],
        last_status=row[9],
        last_error=row[10],
    )
