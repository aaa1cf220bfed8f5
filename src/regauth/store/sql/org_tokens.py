"""Tables of organization access tokens and the repositories each may reach."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from regauth.domain.models import OrgTokenRecord, TokenUse
from regauth.domain.networks import Network
from regauth.store.sql.base import SqlTables, list_column, networks_listed

_COLUMNS = (
    "t.id, t.uuid, t.org_id, o.name, t.label, t.description, t.secret_hash, t.public_read, "
    "t.active, t.created_at, t.created_by, t.expires_at, t.last_used_at, t.last_used_ip, "
    "t.last_used_user_agent, t.allow_from, t.previous_secret_hash, t.previous_secret_until, "
    "t.leaked_secret_hash"
)
_FROM = "FROM org_tokens t JOIN organizations o ON o.id = t.org_id"


class OrgTokensTable(SqlTables):
    def create_org_token(
        self,
        *,
        token_id: str,
        uuid: str,
        org_id: int,
        label: str,
        description: str,
        secret_hash: bytes,
        public_read: bool,
        resources: Mapping[str, frozenset[str]],
        created_by: str,
        expires_at: int | None,
        now: int,
        allow_from: tuple[Network, ...] | None = None,
    ) -> OrgTokenRecord:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO org_tokens (id, uuid, org_id, label, description, secret_hash, "
                "public_read, created_at, created_by, expires_at, allow_from) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    token_id,
                    uuid,
                    org_id,
                    label,
                    description,
                    secret_hash,
                    public_read,
                    now,
                    created_by,
                    expires_at,
                    list_column(allow_from),
                ),
            )
            _write_resources(conn, token_id, resources)
        record = self.get_org_token(token_id)
        assert record is not None
        return record

    def get_org_token(self, token_id: str) -> OrgTokenRecord | None:
        row = self._one(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.id = ? OR t.uuid = ?", (token_id, token_id)
        )
        return self._record(row) if row else None

    def list_org_tokens(self, org_id: int) -> list[OrgTokenRecord]:
        rows = self._all(
            f"SELECT {_COLUMNS} {_FROM} WHERE t.org_id = ? ORDER BY t.created_at DESC, t.id",
            (org_id,),
        )
        return [self._record(r) for r in rows]

    def count_org_tokens(self, org_id: int) -> int:
        row = self._one("SELECT COUNT(*) FROM org_tokens WHERE org_id = ?", (org_id,))
        return int(row[0])

    def update_org_token(
        self,
        token_id: str,
        *,
        label: str | None = None,
        active: bool | None = None,
        resources: Mapping[str, frozenset[str]] | None = None,
        public_read: bool | None = None,
        description: str | None = None,
        leaked_secret_hash: bytes | None = None,
    ) -> OrgTokenRecord | None:
        changes: dict[str, Any] = {}
        if leaked_secret_hash is not None:
            changes["leaked_secret_hash"] = leaked_secret_hash
        if label is not None:
            changes["label"] = label
        if description is not None:
            changes["description"] = description
        if active is not None:
            changes["active"] = active
        if public_read is not None:
            changes["public_read"] = public_read
        with self._transaction() as conn:
            if changes:
                assignments = ", ".join(f"{column} = ?" for column in changes)
                conn.execute(
                    f"UPDATE org_tokens SET {assignments} WHERE id = ?",
                    (*changes.values(), token_id),
                )
            if resources is not None:
                conn.execute("DELETE FROM org_token_resources WHERE token_id = ?", (token_id,))
                _write_resources(conn, token_id, resources)
        return self.get_org_token(token_id)

    def delete_org_token(self, token_id: str) -> bool:
        with self._transaction() as conn:
            cur = conn.execute("DELETE FROM org_tokens WHERE id = ?", (token_id,))
        return cur.rowcount > 0

    def record_org_token_uses(self, uses: Mapping[str, TokenUse]) -> None:
        self._write_uses("org_tokens", uses)

    def _record(self, row: tuple[Any, ...]) -> OrgTokenRecord:
        resources = self._all(
            "SELECT path, actions FROM org_token_resources WHERE token_id = ? ORDER BY path",
            (row[0],),
        )
        return OrgTokenRecord(
            id=row[0],
            uuid=row[1],
            org_id=row[2],
            org=row[3],
            label=row[4],
            description=row[5],
            secret_hash=row[6],
            public_read=bool(row[7]),
            active=bool(row[8]),
            created_at=row[9],
            created_by=row[10],
            expires_at=row[11],
            last_used_at=row[12],
            last_used_ip=row[13],
            last_used_user_agent=row[14],
            resources=tuple((p, frozenset(a.split(","))) for p, a in resources),
            allow_from=networks_listed(row[15]),
            previous_secret_hash=row[16],
            previous_secret_until=row[17],
            leaked_secret_hash=row[18],
        )


def _write_resources(conn: Any, token_id: str, resources: Mapping[str, frozenset[str]]) -> None:
    conn.executemany(
        "INSERT INTO org_token_resources (token_id, path, actions) VALUES (?, ?, ?)",
        [(token_id, path, ",".join(sorted(actions))) for path, actions in resources.items()],
    )
