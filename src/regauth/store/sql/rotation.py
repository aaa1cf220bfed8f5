"""A personal access token's secret replaced in place: every other column is left as it is."""

from __future__ import annotations

from regauth.store.sql.base import SqlTables


class RotationTable(SqlTables):
    def replace_token_secret(
        self,
        token_id: str,
        *,
        expected_hash: bytes,
        secret_hash: bytes,
        previous_until: int | None,
    ) -> bool:
        """The new secret's hash in place of `expected_hash`, which stays accepted until
        `previous_until` (None: not at all). False when the token is gone or its secret was
        replaced meanwhile (two regenerations at once: one wins, the other is told)."""
        with self._transaction(announce=False) as conn:
            cur = conn.execute(
                "UPDATE tokens SET secret_hash = ?, previous_secret_hash = ?, "
                "previous_secret_until = ? WHERE id = ? AND secret_hash = ?",
                (
                    secret_hash,
                    expected_hash if previous_until is not None else None,
                    previous_until,
                    token_id,
                    expected_hash,
                ),
            )
            # Every cache drops what it verified with the old secret: it is checked again,
            # against the grace period's end (services/authentication.py).
            self._rows_changed("tokens", (token_id,))
        return cur.rowcount > 0
