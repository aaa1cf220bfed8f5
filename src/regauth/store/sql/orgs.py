"""Tables of organizations: members with roles, teams, team permissions."""

from __future__ import annotations

from collections.abc import Iterable

from regauth.domain.models import (
    Membership,
    Organization,
    OrgMember,
    OrgMembership,
    OrgRole,
    Team,
    TeamPermission,
    TeamRule,
)
from regauth.errors import Conflict
from regauth.store.sql.base import IntegrityViolation, SqlTables


class OrganizationsTable(SqlTables):
    def create_org(self, name: str, owner_id: int, *, now: int) -> Organization:
        try:
            with self._transaction() as conn:
                # Users and organizations share one namespace space.
                if conn.execute("SELECT 1 FROM users WHERE name = ?", (name,)).fetchone():
                    raise IntegrityViolation
                org_id = conn.execute(
                    "INSERT INTO organizations (name, created_at) VALUES (?, ?) RETURNING id",
                    (name, now),
                ).fetchone()[0]
                conn.execute(
                    "INSERT INTO org_members (org_id, user_id, role) VALUES (?, ?, 'owner')",
                    (org_id, owner_id),
                )
        except IntegrityViolation:
            raise Conflict(f"the namespace {name!r} is taken") from None
        org = self.get_org(name)
        assert org is not None
        return org

    def get_org(self, name: str) -> Organization | None:
        row = self._one("SELECT id, name, created_at FROM organizations WHERE name = ?", (name,))
        return Organization(row[0], row[1], row[2]) if row else None

    def list_orgs(self) -> list[Organization]:
        rows = self._all("SELECT id, name, created_at FROM organizations ORDER BY name")
        return [Organization(*r) for r in rows]

    def delete_org(self, org_id: int) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM organizations WHERE id = ?", (org_id,))

    def lock_org(self, org_id: int) -> None:
        self._lock("organizations", org_id)

    def set_member(
        self, org_id: int, user_id: int, role: OrgRole, *, source: str = "manual"
    ) -> None:
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO org_members (org_id, user_id, role, source) VALUES (?, ?, ?, ?) "
                "ON CONFLICT(org_id, user_id) DO UPDATE SET role = excluded.role, "
                "source = excluded.source",
                (org_id, user_id, role.value, source),
            )

    def remove_member(self, org_id: int, user_id: int) -> bool:
        with self._transaction() as conn:
            conn.execute(
                "DELETE FROM team_members WHERE user_id = ? "
                "AND team_id IN (SELECT id FROM teams WHERE org_id = ?)",
                (user_id, org_id),
            )
            cur = conn.execute(
                "DELETE FROM org_members WHERE org_id = ? AND user_id = ?", (org_id, user_id)
            )
        return cur.rowcount > 0

    def list_members(self, org_id: int) -> list[OrgMember]:
        rows = self._all(
            "SELECT u.id, u.name, m.role, "
            f"(SELECT {self._backend.dialect.group_concat.format(expr='t.name')} FROM teams t JOIN team_members tm "
            " ON tm.team_id = t.id WHERE t.org_id = m.org_id AND tm.user_id = u.id) "
            "FROM org_members m JOIN users u ON u.id = m.user_id WHERE m.org_id = ? ORDER BY u.name",
            (org_id,),
        )
        return [
            OrgMember(r[0], r[1], OrgRole(r[2]), tuple(sorted(r[3].split(","))) if r[3] else ())
            for r in rows
        ]

    def member_role(self, org_id: int, user_id: int) -> OrgRole | None:
        row = self._one(
            "SELECT role FROM org_members WHERE org_id = ? AND user_id = ?", (org_id, user_id)
        )
        return OrgRole(row[0]) if row else None

    def org_context(self, username: str, names: Iterable[str]) -> dict[str, OrgMembership]:
        """For each name that is an organization: the user's role there and their team rules.

        The /token path calls this only for namespaces other than the user's own.
        """
        wanted = list(dict.fromkeys(names))
        if not wanted:
            return {}
        marks = ",".join("?" * len(wanted))
        orgs = self._all(
            f"SELECT o.id, o.name, m.role, m.user_id FROM organizations o LEFT JOIN org_members m "
            f"ON m.org_id = o.id AND m.user_id = (SELECT id FROM users WHERE name = ?) "
            f"WHERE o.name IN ({marks})",
            (username, *wanted),
        )
        context: dict[str, OrgMembership] = {}
        for org_id, name, role, user_id in orgs:
            rules: tuple[TeamRule, ...] = ()
            if role is not None:
                rows = self._all(
                    "SELECT t.name, p.pattern, p.permission FROM teams t "
                    "JOIN team_members tm ON tm.team_id = t.id "
                    "JOIN team_permissions p ON p.team_id = t.id "
                    "WHERE t.org_id = ? AND tm.user_id = ?",
                    (org_id, user_id),
                )
                rules = tuple(TeamRule(t, p, TeamPermission(perm)) for t, p, perm in rows)
            context[name] = OrgMembership(name, OrgRole(role) if role else None, rules)
        return context

    # Teams

    def create_team(self, org_id: int, name: str, description: str) -> None:
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO teams (org_id, name, description) VALUES (?, ?, ?)",
                    (org_id, name, description),
                )
        except IntegrityViolation:
            raise Conflict(f"team {name!r} already exists") from None

    def get_team(self, org: Organization, name: str) -> Team | None:
        row = self._one(
            "SELECT id, name, description FROM teams WHERE org_id = ? AND name = ?",
            (org.id, name),
        )
        if row is None:
            return None
        members = self._all(
            "SELECT u.name FROM team_members tm JOIN users u ON u.id = tm.user_id "
            "WHERE tm.team_id = ? ORDER BY u.name",
            (row[0],),
        )
        perms = self._all(
            "SELECT pattern, permission FROM team_permissions WHERE team_id = ? ORDER BY pattern",
            (row[0],),
        )
        return Team(
            row[0],
            org.name,
            row[1],
            row[2],
            tuple(m[0] for m in members),
            tuple(TeamRule(row[1], p, TeamPermission(perm)) for p, perm in perms),
        )

    def list_teams(self, org: Organization) -> list[Team]:
        names = self._all("SELECT name FROM teams WHERE org_id = ? ORDER BY name", (org.id,))
        teams = [self.get_team(org, n[0]) for n in names]
        return [t for t in teams if t is not None]

    def update_team(self, team_id: int, *, name: str | None, description: str | None) -> None:
        try:
            with self._transaction() as conn:
                if name is not None:
                    conn.execute("UPDATE teams SET name = ? WHERE id = ?", (name, team_id))
                if description is not None:
                    conn.execute(
                        "UPDATE teams SET description = ? WHERE id = ?", (description, team_id)
                    )
        except IntegrityViolation:
            raise Conflict(f"team {name!r} already exists") from None

    def delete_team(self, team_id: int) -> None:
        with self._transaction() as conn:
            conn.execute("DELETE FROM teams WHERE id = ?", (team_id,))

    def add_team_member(self, team_id: int, user_id: int, *, source: str = "manual") -> None:
        """A membership an owner makes by hand stays ("manual"), even one a mapping made."""
        with self._transaction() as conn:
            conn.execute(
                "INSERT INTO team_members (team_id, user_id, source) VALUES (?, ?, ?) "
                "ON CONFLICT (team_id, user_id) DO UPDATE SET source = excluded.source",
                (team_id, user_id, source),
            )

    def memberships_of(self, user_id: int) -> list[Membership]:
        orgs = self._all(
            "SELECT o.id, o.name, m.role, m.source FROM org_members m "
            "JOIN organizations o ON o.id = m.org_id WHERE m.user_id = ? ORDER BY o.name",
            (user_id,),
        )
        teams = self._all(
            "SELECT o.id, o.name, t.id, t.name, tm.source FROM team_members tm "
            "JOIN teams t ON t.id = tm.team_id JOIN organizations o ON o.id = t.org_id "
            "WHERE tm.user_id = ? ORDER BY o.name, t.name",
            (user_id,),
        )
        return [Membership(r[0], r[1], None, None, OrgRole(r[2]), r[3]) for r in orgs] + [
            Membership(r[0], r[1], r[2], r[3], None, r[4]) for r in teams
        ]

    def remove_team_member(self, team_id: int, user_id: int) -> bool:
        with self._transaction() as conn:
            cur = conn.execute(
                "DELETE FROM team_members WHERE team_id = ? AND user_id = ?", (team_id, user_id)
            )
        return cur.rowcount > 0

    def set_team_permission(
        self, team_id: int, pattern: str, permission: TeamPermission | None
    ) -> None:
        with self._transaction() as conn:
            if permission is None:
                conn.execute(
                    "DELETE FROM team_permissions WHERE team_id = ? AND pattern = ?",
                    (team_id, pattern),
                )
            else:
                conn.execute(
                    "INSERT INTO team_permissions (team_id, pattern, permission) VALUES (?, ?, ?) "
                    "ON CONFLICT(team_id, pattern) DO UPDATE SET permission = excluded.permission",
                    (team_id, pattern, permission.value),
                )
