"""Table of identities: accounts' links to identity providers, and the groups last seen there."""

from __future__ import annotations

import json
from typing import Any

from regauth.domain.models import Identity
from regauth.errors import Conflict
from regauth.store.sql.base import IntegrityViolation, SqlTables

_COLUMNS = "source, issuer, subject, user_id, groups, created_at, last_seen_at"


class IdentitiesTable(SqlTables):
    # A link made or removed is announced: a password sign-in's route is cached with the
    # account's link state (User.linked, the directory's claim: services/authentication.py),
    # which [oidc] enforce and LDAP decide by. A sign-in's own note (groups, last seen) is not.

    def find_identity(self, source: str, issuer: str, subject: str) -> Identity | None:
        row = self._one(
            f"SELECT {_COLUMNS} FROM identities WHERE source = ? AND issuer = ? AND subject = ?",
            (source, issuer, subject),
        )
        return _identity(row) if row else None

    def identities_of(self, user_id: int) -> list[Identity]:
        rows = self._all(
            f"SELECT {_COLUMNS} FROM identities WHERE user_id = ? ORDER BY source, issuer",
            (user_id,),
        )
        return [_identity(r) for r in rows]

    def link_identity(
        self,
        user_id: int,
        source: str,
        issuer: str,
        subject: str,
        groups: tuple[str, ...],
        *,
        now: int,
    ) -> None:
        try:
            with self._transaction() as conn:
                conn.execute(
                    "INSERT INTO identities (source, issuer, subject, user_id, groups, "
                    "created_at, last_seen_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (source, issuer, subject, user_id, json.dumps(list(groups)), now, now),
                )
        except IntegrityViolation:
            raise Conflict("that identity is already linked to an account") from None

    def saw_identity(
        self, source: str, issuer: str, subject: str, groups: tuple[str, ...], *, now: int
    ) -> None:
        """A sign-in through the identity: its groups as the provider gave them now."""
        with self._transaction(announce=False) as conn:
            conn.execute(
                "UPDATE identities SET groups = ?, last_seen_at = ? "
                "WHERE source = ? AND issuer = ? AND subject = ?",
                (json.dumps(list(groups)), now, source, issuer, subject),
            )

    def unlink_identities(self, user_id: int, source: str) -> int:
        with self._transaction() as conn:
            cur = conn.execute(
                "DELETE FROM identities WHERE user_id = ? AND source = ?", (user_id, source)
            )
        return int(cur.rowcount)

    def directory_groups(self, user_id: int) -> frozenset[str]:
        """Every group the account is in at any of its providers: the groups each sign-in
        last brought, and the SCIM groups that list it."""
        groups: set[str] = set()
        for (value,) in self._all("SELECT groups FROM identities WHERE user_id = ?", (user_id,)):
            groups.update(json.loads(value))
        rows = self._all(
            "SELECT g.display_name FROM scim_groups g JOIN scim_group_members m "
            "ON m.group_id = g.id WHERE m.user_id = ?",
            (user_id,),
        )
        groups.update(r[0] for r in rows)
        return frozenset(groups)


def _identity(row: tuple[Any, ...]) -> Identity:
    return Identity(row[0], row[1], row[2], row[3], tuple(json.loads(row[4])), row[5], row[6])
