"""Table of personal access tokens: lifecycle, listings, the /token lookup, batched use."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regauth.domain.models import (
    AccessLevel,
    TokenAuthRecord,
    TokenQuery,
    TokenRecord,
    TokenState,
    TokenUse,
)
from regauth.domain.networks import Network
from regauth.errors import Conflict
from regauth.store.sql.base import (
    IntegrityViolation,
    SqlTables,
    list_column,
    listed,
    networks_listed,
)

_COLUMNS = (
    "t.id, t.uuid, t.owner_id, u.name, t.description, t.access, t.secret_hash, t.active, "
    "t.created_at, t.expires_at, t.created_ip, t.created_user_agent, "
    "t.last_used_at, t.last_used_ip, t.last_used_user_agent, t.generated_by, "
    "t.repositories, t.allow_from, t.leaked_secret_hash"
)
_FROM = "FROM tokens t JOIN users u ON u.id = t.owner_id"
# Insertion order, for "the oldest first" among tokens created in the same second.
_NEXT_SEQ = "(SELECT COALESCE(MAX(seq), 0) + 1 FROM tokens)"
# The /token hot path: a fixed statement (both drivers keep it prepared) on the primary key.
_AUTH_LOOKUP = (
    "SELECT t.id, t.secret_hash, t.active, t.expires_at, t.access, "
    "u.id, u.name, u.is_admin, u.disabled, t.generated_by, t.repositories, t.allow_from, "
    "t.previous_secret_hash, t.previous_secret_until "
    f"{_FROM} WHERE t.id = ?"
)


class TokensTable(SqlTables):
    def create_token(
        self,
        *,
        token_id: str,
        uuid: str,
        owner_id: int,
        description: str,
        access: AccessLevel,
        secret_hash: bytes,
        expires_at: int | None,
        created_ip: str | None,
        created_user_agent: str | None,
        now: int,
        generated_by: str = "manual",
        repositories: tuple[str, ...] | None = None,
        allow_from: tuple[Network, ...] | None = None,
    ) -> TokenRecord:
        try:
            # A new row: no cache holds anything of it yet, so the insert tells none.
            with self._transaction(announce=False) as conn:
                conn.execute(
                    "INSERT INTO tokens (id, uuid, owner_id, description, access, secret_hash, "
                    "created_at, expires_at, created_ip, created_user_agent, generated_by, "
                    "repositories, allow_from, seq) "
                    f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, {_NEXT_SEQ})",
                    (
                        token_id,
                        uuid,
                        owner_id,
                        description,
                        access.value,
                        secret_hash,
                        now,
                        expires_at,
                        created_ip,
                        created_user_agent,
                        generated_by,
                        list_column(repositories),
                        list_column(allow_from),
                    ),
                )
        except IntegrityViolation:
            raise Conflict("token id collision, try again") from None
        record = self.get_token(token_id)
        assert record is not None
        return record

    def get_token(self, token_id: str) -> TokenRecord | None:
        row = self._one(f"SELECT {_COLUMNS} {_FROM} WHERE t.id = ?", (token_id,))
        return _token(row) if row else None

    def get_token_by_uuid(self, uuid: str) -> TokenRecord | None:
        row = self._one(f"SELECT {_COLUMNS} {_FROM} WHERE t.uuid = ?", (uuid,))
        return _token(row) if row else None

    def list_tokens(self, owner_id: int) -> list[TokenRecord]:
        rows = self._all(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.owner_id = ? ORDER BY t.created_at DESC, t.id",
            (owner_id,),
        )
        return [_token(r) for r in rows]

    def search_tokens(self, query: TokenQuery, *, now: int) -> list[TokenRecord]:
        where, params = _where(query, now)
        rows = self._all(
            f"SELECT {_COLUMNS} {_FROM} {where} ORDER BY t.created_at DESC, t.id LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [_token(r) for r in rows]

    def update_token(
        self,
        token_id: str,
        *,
        description: str | None = None,
        active: bool | None = None,
        leaked_secret_hash: bytes | None = None,
    ) -> TokenRecord | None:
        changes: dict[str, Any] = {}
        if description is not None:
            changes["description"] = description
        if active is not None:
            changes["active"] = active
        if leaked_secret_hash is not None:
            changes["leaked_secret_hash"] = leaked_secret_hash
        if changes:
            assignments = ", ".join(f"{column} = ?" for column in changes)
            with self._transaction(announce=False) as conn:
                conn.execute(
                    f"UPDATE tokens SET {assignments} WHERE id = ?", (*changes.values(), token_id)
                )
                self._rows_changed("tokens", (token_id,))
        return self.get_token(token_id)

    def create_auto_token(self, *, keep: int, **fields: Any) -> tuple[TokenRecord, list[str]]:
        """Insert an auto-generated token, first deleting the owner's oldest beyond `keep - 1`.

        One transaction, so two sign-ins at once cannot leave six behind.
        """
        owner_id = fields["owner_id"]
        with self._transaction(announce=False) as conn:
            rows = conn.execute(
                "SELECT id FROM tokens WHERE owner_id = ? AND generated_by = 'auto' "
                "ORDER BY created_at DESC, seq DESC",
                (owner_id,),
            ).fetchall()
            evicted = [r[0] for r in rows[keep - 1 :]]
            conn.executemany("DELETE FROM tokens WHERE id = ?", [(i,) for i in evicted])
            self._rows_changed("tokens", evicted)
            conn.execute(
                "INSERT INTO tokens (id, uuid, owner_id, description, access, secret_hash, "
                "created_at, expires_at, created_ip, created_user_agent, generated_by, seq) "
                f"VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'auto', {_NEXT_SEQ})",
                (
                    fields["token_id"],
                    fields["uuid"],
                    owner_id,
                    fields["description"],
                    fields["access"].value,
                    fields["secret_hash"],
                    fields["now"],
                    fields["expires_at"],
                    fields["created_ip"],
                    fields["created_user_agent"],
                ),
            )
        record = self.get_token(fields["token_id"])
        assert record is not None
        return record, evicted

    def delete_auto_tokens(self, owner_id: int) -> int:
        with self._transaction(announce=False) as conn:
            deleted = conn.execute(
                "DELETE FROM tokens WHERE owner_id = ? AND generated_by = 'auto' RETURNING id",
                (owner_id,),
            ).fetchall()
            self._rows_changed("tokens", (row[0] for row in deleted))
        return len(deleted)

    def record_token_creation(self, owner_id: int, *, now: int) -> None:
        # Counted inside the creating transaction, never cached.
        with self._transaction(announce=False) as conn:
            conn.execute("DELETE FROM token_creations WHERE at < ?", (now - 86400,))
            conn.execute(
                "INSERT INTO token_creations (owner_id, at) VALUES (?, ?)", (owner_id, now)
            )

    def count_token_creations(self, owner_id: int, *, since: int) -> tuple[int, int | None]:
        """How many since `since`, and the oldest of them (for Retry-After)."""
        row = self._one(
            "SELECT COUNT(*), MIN(at) FROM token_creations WHERE owner_id = ? AND at >= ?",
            (owner_id, since),
        )
        return int(row[0]), row[1]

    def count_active_tokens(self, owner_id: int, *, now: int) -> int:
        row = self._one(
            "SELECT COUNT(*) FROM tokens WHERE owner_id = ? AND generated_by = 'manual' "
            "AND active = TRUE AND (expires_at IS NULL OR expires_at > ?)",
            (owner_id, now),
        )
        return int(row[0])

    def delete_token(self, token_id: str) -> bool:
        with self._transaction(announce=False) as conn:
            cur = conn.execute("DELETE FROM tokens WHERE id = ?", (token_id,))
            self._rows_changed("tokens", (token_id,))
        return cur.rowcount > 0

    def find_token_for_auth(self, token_id: str) -> TokenAuthRecord | None:
        row = self._one(_AUTH_LOOKUP, (token_id,))
        return _auth_record(row) if row else None

    def record_token_uses(self, uses: Mapping[str, TokenUse]) -> None:
        self._write_uses("tokens", uses)


def _auth_record(row: tuple[Any, ...]) -> TokenAuthRecord:
    return TokenAuthRecord(
        token_id=row[0],
        secret_hash=row[1],
        active=bool(row[2]),
        expires_at=row[3],
        access=AccessLevel(row[4]),
        owner_id=row[5],
        owner_name=row[6],
        owner_is_admin=bool(row[7]),
        owner_disabled=bool(row[8]),
        generated_by=row[9],
        repositories=listed(row[10]),
        allow_from=networks_listed(row[11]),
        previous_secret_hash=row[12],
        previous_secret_until=row[13],
    )


def _where(query: TokenQuery, now: int) -> tuple[str, list[Any]]:
    clauses: list[str] = []
    params: list[Any] = []
    if query.owner is not None:
        clauses.append("u.name = ?")
        params.append(query.owner)
    if query.generated_by is not None:
        clauses.append("t.generated_by = ?")
        params.append(query.generated_by)
    if query.state is TokenState.EXPIRED:
        clauses.append("t.expires_at IS NOT NULL AND t.expires_at <= ?")
        params.append(now)
    elif query.state is not None:
        clauses.append("(t.expires_at IS NULL OR t.expires_at > ?) AND t.active = ?")
        params += [now, query.state is TokenState.ACTIVE]
    if query.last_used_before is not None:
        # "Unused since" includes never used: that is what a clean-up wants to find.
        clauses.append("(t.last_used_at IS NULL OR t.last_used_at < ?)")
        params.append(query.last_used_before)
    if query.last_used_after is not None:
        clauses.append("t.last_used_at >= ?")
        params.append(query.last_used_after)
    if query.expiring_before is not None:
        # "Expiring soon": still working, and not for long (the web page's mark).
        clauses.append("t.active = TRUE AND t.expires_at > ? AND t.expires_at <= ?")
        params += [now, query.expiring_before]
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", params


def _token(row: tuple[Any, ...]) -> TokenRecord:
    return TokenRecord(
        id=row[0],
        uuid=row[1],
        owner_id=row[2],
        owner_name=row[3],
        description=row[4],
        access=AccessLevel(row[5]),
        secret_hash=row[6],
        active=bool(row[7]),
        created_at=row[8],
        expires_at=row[9],
        created_ip=row[10],
        created_user_agent=row[11],
        last_used_at=row[12],
        last_used_ip=row[13],
        last_used_user_agent=row[14],
        generated_by=row[15],
        repositories=listed(row[16]),
        allow_from=networks_listed(row[17]),
        leaked_secret_hash=row[18],
    )
