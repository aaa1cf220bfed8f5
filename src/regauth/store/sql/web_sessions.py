"""Table of the web page's sign-in sessions: created at sign-in, read on each page view, ended
at sign-out or by a change to the account. No cache holds them and /token never reads them, so
no write here tells any cache."""

from __future__ import annotations

from typing import Any

from regauth.domain.models import WebSession
from regauth.errors import Conflict
from regauth.store.sql.base import IntegrityViolation, SqlTables

_COLUMNS = (
    "s.id, s.user_id, u.name, s.read_only, s.token_id, s.created_at, s.last_seen_at, "
    "s.expires_at, s.created_ip, s.user_agent, s.token_secret"
)
_FROM = "FROM web_sessions s JOIN users u ON u.id = s.user_id"


class WebSessionsTable(SqlTables):
    def create_web_session(self, session: WebSession) -> None:
        try:
            with self._transaction(announce=False) as conn:
                conn.execute(
                    "INSERT INTO web_sessions (id, user_id, token_id, read_only, created_at, "
                    "last_seen_at, expires_at, created_ip, user_agent, token_secret) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (
                        session.id,
                        session.user_id,
                        session.token_id,
                        session.read_only,
                        session.created_at,
                        session.last_seen_at,
                        session.expires_at,
                        session.created_ip,
                        session.user_agent,
                        session.token_secret,
                    ),
                )
        except IntegrityViolation:
            # A duplicate id (never, for 256 random bits) or an account or token deleted since.
            raise Conflict("the session could not be started: sign in again") from None

    def find_web_session(self, session_id: str) -> WebSession | None:
        row = self._one(f"SELECT {_COLUMNS} {_FROM} WHERE s.id = ?", (session_id,))
        return _session(row) if row else None

    def list_web_sessions(self, user_id: int, *, now: int) -> list[WebSession]:
        rows = self._all(
            f"SELECT {_COLUMNS} {_FROM} WHERE s.user_id = ? AND s.expires_at > ? "
            "ORDER BY s.last_seen_at DESC, s.id",
            (user_id, now),
        )
        return [_session(r) for r in rows]

    def touch_web_session(self, session_id: str, *, now: int, unless_after: int) -> None:
        """last_seen_at = now, unless another request already wrote one after `unless_after`."""
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE web_sessions SET last_seen_at = ? WHERE id = ? AND last_seen_at <= ?",
                (now, session_id, unless_after),
            )

    def delete_web_session(self, session_id: str, *, user_id: int | None = None) -> bool:
        """One session; with `user_id`, only if it is that user's."""
        with self._transaction(announce=False) as conn:
            if user_id is None:
                cur = conn.execute("DELETE FROM web_sessions WHERE id = ?", (session_id,))
            else:
                cur = conn.execute(
                    "DELETE FROM web_sessions WHERE id = ? AND user_id = ?", (session_id, user_id)
                )
        return cur.rowcount > 0

    def end_sessions(self, user_id: int) -> int:
        """Every session of the account: the page's rows deleted, and the epoch API sessions
        carry moved (they are stateless JWTs: services/sessions.py refuses an older one)."""
        with self._transaction(announce=False) as conn:
            cur = conn.execute("DELETE FROM web_sessions WHERE user_id = ?", (user_id,))
            conn.execute(
                "UPDATE users SET session_epoch = session_epoch + 1 WHERE id = ?", (user_id,)
            )
        return cur.rowcount

    def purge_web_sessions(self, *, now: int, idle_before: int) -> int:
        """Sessions past their absolute timeout, or not seen since `idle_before`."""
        with self._transaction(announce=False) as conn:
            cur = conn.execute(
                "DELETE FROM web_sessions WHERE expires_at <= ? OR last_seen_at < ?",
                (now, idle_before),
            )
        return cur.rowcount


def _session(row: tuple[Any, ...]) -> WebSession:
    return WebSession(
        id=row[0],
        user_id=row[1],
        user_name=row[2],
        read_only=bool(row[3]),
        token_id=row[4],
        created_at=row[5],
        last_seen_at=row[6],
        expires_at=row[7],
        created_ip=row[8],
        user_agent=row[9],
        token_secret=row[10],
    )
