"""Table of scheduled jobs: periodic work one process of the deployment runs each time."""

from __future__ import annotations

from regauth.store.sql.base import SqlTables


class JobsTable(SqlTables):
    def claim_job(self, name: str, *, now: int, next_due: int) -> bool:
        """True for the one caller (of every worker and replica) that finds `name` due and
        moves it to `next_due`; a job never run before is due."""
        due = self._one("SELECT due_at FROM scheduled_jobs WHERE name = ?", (name,))
        if due is not None and due[0] > now:
            return False  # the usual answer, from a read: no write transaction for it
        with self._transaction(announce=False) as conn:
            inserted = conn.execute(
                "INSERT INTO scheduled_jobs (name, due_at, last_run_at) VALUES (?, ?, ?) "
                "ON CONFLICT (name) DO NOTHING",
                (name, next_due, now),
            ).rowcount
            if inserted:
                return True
            moved = conn.execute(
                "UPDATE scheduled_jobs SET due_at = ?, last_run_at = ? "
                "WHERE name = ? AND due_at <= ?",
                (next_due, now, name, now),
            ).rowcount
        return moved > 0

    def reschedule_job(self, name: str, *, due_at: int) -> None:
        """Sooner than claimed (a run that failed is tried again at `due_at`)."""
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE scheduled_jobs SET due_at = ? WHERE name = ? AND due_at > ?",
                (due_at, name, due_at),
            )

    def job_runs(self) -> dict[str, tuple[int, int | None]]:
        """Each job's next due time and its last run."""
        rows = self._all("SELECT name, due_at, last_run_at FROM scheduled_jobs ORDER BY name")
        return {r[0]: (r[1], r[2]) for r in rows}
