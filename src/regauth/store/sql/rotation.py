"""A token's secret replaced in place: every other column is left as it is."""

from __future__ import annotations

from regauth.store.sql.base import SqlTables

_END_PREVIOUS = (
    "UPDATE {table} SET previous_secret_hash = NULL, previous_secret_until = NULL WHERE id = ?"
)
_REPLACE = (
    "UPDATE {table} SET secret_hash = ?, previous_secret_hash = ?, previous_secret_until = ? "
    "WHERE id = ? AND secret_hash = ?"
)


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
                _REPLACE.format(table="tokens"),
                _replacement(token_id, expected_hash, secret_hash, previous_until),
            )
            # Every cache drops what it verified with the old secret: it is checked again,
            # against the grace period's end (services/authentication.py).
            self._rows_changed("tokens", (token_id,))
        return cur.rowcount > 0

    def replace_org_token_secret(
        self,
        token_id: str,
        *,
        expected_hash: bytes,
        secret_hash: bytes,
        previous_until: int | None,
    ) -> bool:
        """As replace_token_secret, for an organization's token (whose changes are announced
        to every cache, as any change of an organization token is)."""
        with self._transaction() as conn:
            cur = conn.execute(
                _REPLACE.format(table="org_tokens"),
                _replacement(token_id, expected_hash, secret_hash, previous_until),
            )
        return cur.rowcount > 0

    def end_previous_secret(self, token_id: str) -> None:
        """The old secret of a regenerated token stops at once: reported leaked in its grace
        period. Every cache drops what it verified with it, and its sessions end."""
        with self._transaction(announce=False) as conn:
            conn.execute(_END_PREVIOUS.format(table="tokens"), (token_id,))
            self._rows_changed("tokens", (token_id,))

    def end_previous_org_secret(self, token_id: str) -> None:
        with self._transaction() as conn:
            conn.execute(_END_PREVIOUS.format(table="org_tokens"), (token_id,))


def _replacement(
    token_id: str, expected_hash: bytes, secret_hash: bytes, previous_until: int | None
) -> tuple[object, ...]:
    """The UPDATE's parameters: the old hash kept only while a grace period lasts."""
    previous = expected_hash if previous_until is not None else None
    return (secret_hash, previous, previous_until, token_id, expected_hash)
