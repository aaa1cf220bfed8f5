"""Table of admin API keys (hashes only)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regauth.domain.models import AdminKey, TokenUse
from regauth.domain.networks import Network
from regauth.store.sql.base import SqlTables, list_column, networks_listed

_COLUMNS = (
    "id, description, secret_hash, created_at, created_by, revoked_at, last_used_at, "
    "last_used_ip, purpose, allow_from"
)


class AdminKeysTable(SqlTables):
    def create_admin_key(
        self,
        key_id: str,
        *,
        description: str,
        secret_hash: bytes,
        created_by: str,
        now: int,
        purpose: str = "admin",
        allow_from: tuple[Network, ...] | None = None,
    ) -> AdminKey:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO admin_keys (id, description, secret_hash, created_at, created_by, "
                "purpose, allow_from) VALUES (?, ?, ?, ?, ?, ?, ?)",
                (
                    key_id,
                    description,
                    secret_hash,
                    now,
                    created_by,
                    purpose,
                    list_column(allow_from),
                ),
            )
        key = self.get_admin_key(key_id)
        assert key is not None
        return key

    def get_admin_key(self, key_id: str) -> AdminKey | None:
        row = self._one(f"SELECT {_COLUMNS} FROM admin_keys WHERE id = ?", (key_id,))
        return _key(row) if row else None

    def list_admin_keys(self) -> list[AdminKey]:
        rows = self._all(f"SELECT {_COLUMNS} FROM admin_keys ORDER BY created_at DESC, id")
        return [_key(r) for r in rows]

    def revoke_admin_key(self, key_id: str, *, now: int) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE admin_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL",
                (now, key_id),
            )
        return cur.rowcount > 0

    def record_admin_key_uses(self, uses: Mapping[str, TokenUse]) -> None:
        """Batched last uses (the table keeps no user agent), in one transaction."""
        if not uses:
            return
        with self._transaction(announce=False) as conn:
            # Only move forward: another worker may have written a later use already.
            conn.executemany(
                "UPDATE admin_keys SET last_used_at = ?, last_used_ip = ? "
                "WHERE id = ? AND (last_used_at IS NULL OR last_used_at <= ?)",
                [(u.at, u.ip, key_id, u.at) for key_id, u in uses.items()],
            )


def _key(row: tuple[Any, ...]) -> AdminKey:
    return AdminKey(
        row[0], row[1], row[2], row[3], row[4], row[5], row[6], row[7], row[8],
        networks_listed(row[9]),
    )  # fmt: skip
