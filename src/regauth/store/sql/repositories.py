"""Table of repositories with a recorded visibility."""

from __future__ import annotations

from collections.abc import Iterable, Mapping

import orjson

from regauth.domain.models import Repository, Visibility
from regauth.store.sql.base import SqlTables, statement_chunks


class RepositoriesTable(SqlTables):
    def public_repositories(self, names: Iterable[str]) -> frozenset[str]:
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return frozenset()
        marks = ",".join("?" * len(wanted))
        rows = self._all(
            f"SELECT name FROM repositories WHERE visibility = 'public' AND name IN ({marks})",
            wanted,
        )
        return frozenset(r[0] for r in rows)

    def set_visibility(self, name: str, visibility: Visibility, *, now: int) -> Repository:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO repositories (name, visibility, created_at) VALUES (?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET visibility = excluded.visibility",
                (name, visibility.value, now),
            )
            row = conn.execute(
                "SELECT name, visibility, created_at FROM repositories WHERE name = ?", (name,)
            ).fetchone()
        return Repository(row[0], Visibility(row[1]), row[2])

    def record_push_grants(self, first_granted: Mapping[str, int]) -> None:
        """Repositories a push was granted to, with when (the earliest time is kept); batched
        with the last uses, telling no cache."""
        if not first_granted:
            return
        # A statement per 512 names, not a step per name: executemany takes the GIL back for
        # every row, and under load each take waits for the event loop to let go. With every
        # request for a new repository (bench/run.py) a flush is ~4,000 names: 0.1-3.9 s that
        # way with the loop busy, ~30 ms this way. (A single statement for all of them held
        # ~2.5 MiB more in the worker after the load: its JSON text and parse, in the thread's
        # arena.) "WHERE true": SQLite's parser needs it between SELECT and ON CONFLICT.
        pairs = self._backend.dialect.json_int_pairs
        names = sorted(first_granted.items())
        with self._transaction(announce=False) as conn:
            for chunk in statement_chunks(names):
                conn.execute(
                    f"INSERT INTO pushed_repositories (name, first_push_granted_at) {pairs} "
                    "WHERE true ORDER BY key ON CONFLICT(name) DO NOTHING",
                    (orjson.dumps(dict(chunk)).decode(),),
                )

    def push_ever_granted(self, name: str) -> bool:
        row = self._one("SELECT 1 FROM pushed_repositories WHERE name = ?", (name,))
        return row is not None

    def list_repositories(self) -> list[Repository]:
        rows = self._all("SELECT name, visibility, created_at FROM repositories ORDER BY name")
        return [Repository(r[0], Visibility(r[1]), r[2]) for r in rows]
