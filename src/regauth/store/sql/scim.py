"""Tables of SCIM resources: users (the attributes beside the account they made), groups and
their members."""

from __future__ import annotations

import json
from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from regauth.domain.scim.problems import taken
from regauth.domain.scim.records import ScimGroup, ScimUser
from regauth.store.sql.base import IntegrityViolation, SqlTables

_USER = (
    "SELECT s.id, s.user_id, u.name, u.disabled, s.external_id, s.attributes, s.created_at, "
    "s.updated_at FROM scim_users s JOIN users u ON u.id = s.user_id"
)
_GROUP = "SELECT id, display_name, external_id, created_at, updated_at FROM scim_groups"
_MEMBERS = (
    "SELECT m.group_id, s.id FROM scim_group_members m JOIN scim_users s ON s.user_id = m.user_id"
)


class ScimTable(SqlTables):
    # announce=False throughout: no cache holds a SCIM resource (/token reads none of these
    # tables). What SCIM changes that /token reads, an account's disabled flag and its team
    # memberships, is written through the users and organizations tables, which announce.

    def create_scim_user(
        self,
        scim_id: str,
        user_id: int,
        *,
        external_id: str | None,
        attributes: dict[str, Any],
        now: int,
    ) -> ScimUser:
        with self._transaction(announce=False) as conn:
            conn.execute(
                "INSERT INTO scim_users (user_id, id, external_id, attributes, created_at, "
                "updated_at) VALUES (?, ?, ?, ?, ?, ?)",
                (user_id, scim_id, external_id, json.dumps(attributes), now, now),
            )
        user = self.get_scim_user(scim_id)
        assert user is not None
        return user

    def get_scim_user(self, scim_id: str) -> ScimUser | None:
        row = self._one(f"{_USER} WHERE s.id = ?", (scim_id,))
        return _user(row) if row else None

    def scim_user_of(self, user_id: int) -> ScimUser | None:
        row = self._one(f"{_USER} WHERE s.user_id = ?", (user_id,))
        return _user(row) if row else None

    def list_scim_users(self) -> list[ScimUser]:
        return [_user(r) for r in self._all(f"{_USER} ORDER BY s.created_at, s.user_id")]

    def update_scim_user(
        self, scim_id: str, *, external_id: str | None, attributes: dict[str, Any], now: int
    ) -> None:
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE scim_users SET external_id = ?, attributes = ?, updated_at = ? "
                "WHERE id = ?",
                (external_id, json.dumps(attributes), now, scim_id),
            )

    def delete_scim_user(self, scim_id: str) -> list[str]:
        """Removes the resource and its group memberships: the ids of the groups it was in."""
        with self._transaction(announce=False) as conn:
            row = conn.execute("SELECT user_id FROM scim_users WHERE id = ?", (scim_id,)).fetchone()
            if row is None:
                return []
            groups = conn.execute(
                "SELECT group_id FROM scim_group_members WHERE user_id = ? ORDER BY group_id",
                (row[0],),
            ).fetchall()
            conn.execute("DELETE FROM scim_group_members WHERE user_id = ?", (row[0],))
            conn.execute("DELETE FROM scim_users WHERE id = ?", (scim_id,))
        return [g[0] for g in groups]

    def scim_groups_of(self, user_id: int) -> list[tuple[str, str]]:
        """(id, displayName) of each group that lists the account."""
        rows = self._all(
            "SELECT g.id, g.display_name FROM scim_groups g JOIN scim_group_members m "
            "ON m.group_id = g.id WHERE m.user_id = ? ORDER BY g.display_name",
            (user_id,),
        )
        return [(r[0], r[1]) for r in rows]

    def create_scim_group(
        self, group_id: str, *, display_name: str, external_id: str | None, now: int
    ) -> None:
        try:
            with self._transaction(announce=False) as conn:
                conn.execute(
                    "INSERT INTO scim_groups (id, display_name, external_id, created_at, "
                    "updated_at) VALUES (?, ?, ?, ?, ?)",
                    (group_id, display_name, external_id, now, now),
                )
        except IntegrityViolation:
            raise taken(f"a group named {display_name[:100]!r} exists") from None

    def get_scim_group(self, group_id: str) -> ScimGroup | None:
        row = self._one(f"{_GROUP} WHERE id = ?", (group_id,))
        if row is None:
            return None
        members = self._all(f"{_MEMBERS} WHERE m.group_id = ? ORDER BY s.id", (group_id,))
        return _group(row, [m[1] for m in members])

    def list_scim_groups(self) -> list[ScimGroup]:
        members: defaultdict[str, list[str]] = defaultdict(list)
        for group_id, scim_id in self._all(f"{_MEMBERS} ORDER BY m.group_id, s.id"):
            members[group_id].append(scim_id)
        rows = self._all(f"{_GROUP} ORDER BY created_at, display_name")
        return [_group(r, members[r[0]]) for r in rows]

    def update_scim_group(
        self, group_id: str, *, display_name: str, external_id: str | None, now: int
    ) -> None:
        try:
            with self._transaction(announce=False) as conn:
                conn.execute(
                    "UPDATE scim_groups SET display_name = ?, external_id = ?, updated_at = ? "
                    "WHERE id = ?",
                    (display_name, external_id, now, group_id),
                )
        except IntegrityViolation:
            raise taken(f"a group named {display_name[:100]!r} exists") from None

    def set_scim_group_members(self, group_id: str, user_ids: Iterable[int]) -> None:
        with self._transaction(announce=False) as conn:
            conn.execute("DELETE FROM scim_group_members WHERE group_id = ?", (group_id,))
            conn.executemany(
                "INSERT INTO scim_group_members (group_id, user_id) VALUES (?, ?)",
                [(group_id, user_id) for user_id in sorted(set(user_ids))],
            )

    def delete_scim_group(self, group_id: str) -> bool:
        with self._transaction(announce=False) as conn:
            conn.execute("DELETE FROM scim_group_members WHERE group_id = ?", (group_id,))
            cur = conn.execute("DELETE FROM scim_groups WHERE id = ?", (group_id,))
        return cur.rowcount > 0


def _user(row: tuple[Any, ...]) -> ScimUser:
    return ScimUser(
        id=row[0],
        user_id=row[1],
        name=row[2],
        disabled=bool(row[3]),
        external_id=row[4],
        attributes=json.loads(row[5]),
        created_at=row[6],
        updated_at=row[7],
    )


def _group(row: tuple[Any, ...], members: list[str]) -> ScimGroup:
    return ScimGroup(row[0], row[1], row[2], tuple(members), row[3], row[4])
