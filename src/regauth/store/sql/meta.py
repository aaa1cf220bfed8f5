"""Facts about the deployment itself (the fingerprint of its HMAC secret), one row each."""

from __future__ import annotations

from regauth.store.sql.base import SqlTables


class MetaTable(SqlTables):
    def meta_value(self, key: str) -> str | None:
        row = self._one("SELECT value FROM meta WHERE key = ?", (key,))
        return str(row[0]) if row else None

    def claim_meta_value(self, key: str, value: str) -> str:
        """Store `value` under `key` unless a value is there already; returns the stored one
        (so the first replica to start sets it, and every later one compares with it).
        Every process start asks: a read, and a write only the first time."""
        stored = self.meta_value(key)
        if stored is not None:
            return stored
        with self._transaction(announce=False) as conn:
            conn.execute(
                "INSERT INTO meta (key, value) VALUES (?, ?) ON CONFLICT (key) DO NOTHING",
                (key, value),
            )
            row = conn.execute("SELECT value FROM meta WHERE key = ?", (key,)).fetchone()
        return str(row[0])
