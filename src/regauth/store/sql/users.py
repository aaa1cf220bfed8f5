"""Table of users."""

from __future__ import annotations

from typing import Any

from regauth.domain.models import User
from regauth.errors import Conflict
from regauth.store.sql.base import IntegrityViolation, SqlTables

_COLUMNS = (
    "id, name, password_hash, is_admin, disabled, created_at, totp_enabled, "
    "EXISTS (SELECT 1 FROM identities i WHERE i.user_id = users.id), session_epoch"
)


class UsersTable(SqlTables):
    def create_user(
        self, name: str, password_hash: str | None, *, is_admin: bool, now: int
    ) -> User:
        try:
            with self._transaction() as conn:
                # Users and organizations share one namespace space.
                if conn.execute("SELECT 1 FROM organizations WHERE name = ?", (name,)).fetchone():
                    raise IntegrityViolation
                row = conn.execute(
                    "INSERT INTO users (name, password_hash, is_admin, created_at) "
                    "VALUES (?, ?, ?, ?) RETURNING id",
                    (name, password_hash, is_admin, now),
                ).fetchone()
        except IntegrityViolation:
            raise Conflict(f"the name {name!r} is taken") from None
        return User(int(row[0]), name, password_hash, is_admin, False, now)

    def get_user(self, name: str) -> User | None:
        row = self._one(f"SELECT {_COLUMNS} FROM users WHERE name = ?", (name,))
        return _user(row) if row else None

    def get_user_by_id(self, user_id: int) -> User | None:
        row = self._one(f"SELECT {_COLUMNS} FROM users WHERE id = ?", (user_id,))
        return _user(row) if row else None

    def list_users(self) -> list[User]:
        rows = self._all(f"SELECT {_COLUMNS} FROM users ORDER BY name")
        return [_user(r) for r in rows]

    def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        is_admin: bool | None = None,
        disabled: bool | None = None,
    ) -> User | None:
        changes: dict[str, Any] = {}
        if password_hash is not None:
            changes["password_hash"] = password_hash
        if is_admin is not None:
            changes["is_admin"] = is_admin
        if disabled is not None:
            changes["disabled"] = disabled
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._transaction() as conn:
                conn.execute(
                    f"UPDATE users SET {assignments} WHERE name = ?", (*changes.values(), name)
                )
        return self.get_user(name)

    def lock_user(self, user_id: int) -> None:
        self._lock("users", user_id)


def _user(row: tuple[Any, ...]) -> User:
    return User(
        row[0],
        row[1],
        row[2],
        bool(row[3]),
        bool(row[4]),
        row[5],
        bool(row[6]),
        bool(row[7]),
        int(row[8]),
    )


class TotpTable(SqlTables):
    """Two-factor state, kept apart from User so the secret is read only where it is checked."""

    def get_totp(self, user_id: int) -> tuple[bytes | None, bool, int | None]:
        row = self._one(
            "SELECT totp_secret, totp_enabled, totp_last_step FROM users WHERE id = ?", (user_id,)
        )
        return (row[0], bool(row[1]), row[2]) if row else (None, False, None)

    def set_totp(self, user_id: int, secret: bytes | None, *, enabled: bool) -> None:
        with self._transaction() as conn:
            # The last accepted step goes with the secret it was accepted for: enabling with
            # the same secret keeps the one its confirming code used, so that code cannot
            # sign in once more.
            conn.execute(
                "UPDATE users SET totp_last_step = CASE WHEN totp_secret IS NOT DISTINCT FROM ? "
                "THEN totp_last_step ELSE NULL END, totp_secret = ?, totp_enabled = ? WHERE id = ?",
                (secret, secret, enabled, user_id),
            )
            if not enabled:
                conn.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))

    def use_totp_step(self, user_id: int, step: int) -> bool:
        """Record an accepted time step; False if it (or a later one) was used already."""
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE users SET totp_last_step = ? WHERE id = ? "
                "AND (totp_last_step IS NULL OR totp_last_step < ?)",
                (step, user_id, step),
            )
        return cur.rowcount > 0

    def set_recovery_codes(self, user_id: int, hashes: list[bytes]) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM recovery_codes WHERE user_id = ?", (user_id,))
            conn.executemany(
                "INSERT INTO recovery_codes (user_id, code_hash) VALUES (?, ?)",
                [(user_id, h) for h in hashes],
            )

    def use_recovery_code(self, user_id: int, code_hash: bytes, *, now: int) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "UPDATE recovery_codes SET used_at = ? "
                "WHERE user_id = ? AND code_hash = ? AND used_at IS NULL",
                (now, user_id, code_hash),
            )
        return cur.rowcount > 0
