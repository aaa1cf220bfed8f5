"""Personal, session and organization access tokens as Credentials: what the expiry notices and
the staleness policy look for, and the conditional writes the policy makes."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from regauth.domain.hygiene import Credential, CredentialKind
from regauth.store.sql.base import SqlTables

_TOKENS = (
    "SELECT t.id, t.uuid, u.name, t.description, t.active, t.created_at, t.expires_at, "
    "t.last_used_at, t.generated_by FROM tokens t JOIN users u ON u.id = t.owner_id"
)
_ORG_TOKENS = (
    "SELECT t.id, t.uuid, o.name, t.label, t.active, t.created_at, t.expires_at, "
    "t.last_used_at, 'organization' FROM org_tokens t JOIN organizations o ON o.id = t.org_id"
)
# Last used before the cut-off, or never and made before it.
_UNUSED = "COALESCE(t.last_used_at, t.created_at) < ?"
# The policy's own deactivation starts the period again (a reactivated token gets all of it).
_NOT_JUST_DEACTIVATED = "(t.deactivated_unused_at IS NULL OR t.deactivated_unused_at < ?)"
_UNEXPIRED = "(t.expires_at IS NULL OR t.expires_at > ?)"


class CredentialsTable(SqlTables):
    def credentials_expiring(self, *, after: int, until: int) -> list[Credential]:
        """Active personal and organization tokens (of enabled accounts) whose expiry is in
        (after, until]: session tokens expire every month by design, and say nothing."""
        window = "t.active = TRUE AND t.expires_at > ? AND t.expires_at <= ?"
        rows = self._all(
            f"{_TOKENS} WHERE t.generated_by = 'manual' AND u.disabled = FALSE AND {window}",
            (after, until),
        )
        rows += self._all(f"{_ORG_TOKENS} WHERE {window}", (after, until))
        return sorted(map(_credential, rows), key=lambda c: (c.expires_at or 0, c.id))

    def stale_credentials(
        self, *, unused_since: int, now: int, for_policy: bool, limit: int = 1000
    ) -> list[Credential]:
        """Tokens of every kind unused since `unused_since`, the longest unused first.
        The report (`for_policy` False): unexpired ones, active or not. The policy: active
        unexpired ones it has not deactivated itself since, and session tokens whatever
        their state (it deletes them, expired or not)."""
        if for_policy:
            working = f"t.active = TRUE AND {_UNEXPIRED} AND {_NOT_JUST_DEACTIVATED}"
            where = f"{_UNUSED} AND (t.generated_by = 'auto' OR ({working}))"
            org_where = f"{_UNUSED} AND {working}"
            params: tuple[Any, ...] = (unused_since, now, unused_since)
        else:
            where = org_where = f"{_UNUSED} AND {_UNEXPIRED}"
            params = (unused_since, now)
        order = "ORDER BY COALESCE(t.last_used_at, t.created_at), t.id LIMIT ?"
        rows = self._all(f"{_TOKENS} WHERE {where} {order}", (*params, limit))
        rows += self._all(f"{_ORG_TOKENS} WHERE {org_where} {order}", (*params, limit))
        found = sorted(map(_credential, rows), key=lambda c: (c.last_used_at or c.created_at, c.id))
        return found[:limit]

    def deactivate_unused(self, credential: Credential, *, unused_since: int, now: int) -> bool:
        """Deactivate a personal or organization token if it is still active and unused (a
        use flushed meanwhile, or another replica's sweep, leaves it alone)."""
        table = "org_tokens" if credential.kind is CredentialKind.ORGANIZATION else "tokens"
        kind = "" if table == "org_tokens" else "AND t.generated_by = 'manual' "
        # Organization tokens' caches are not kept per row: their change tells every cache.
        with self._transaction(announce=table == "org_tokens") as conn:
            cur = conn.execute(
                f"UPDATE {table} AS t SET active = FALSE, deactivated_unused_at = ? "
                f"WHERE t.id = ? {kind}AND t.active = TRUE AND {_UNUSED} "
                f"AND {_NOT_JUST_DEACTIVATED}",
                (now, credential.id, unused_since, unused_since),
            )
            if table == "tokens":
                self._rows_changed("tokens", (credential.id,))
        return cur.rowcount > 0

    def delete_unused_session_tokens(
        self, token_ids: Sequence[str], *, unused_since: int
    ) -> list[str]:
        """The auto-generated tokens among `token_ids` still unused, deleted; their ids."""
        deleted: list[str] = []
        with self._transaction(announce=False) as conn:
            for token_id in token_ids:
                row = conn.execute(
                    f"DELETE FROM tokens AS t WHERE t.id = ? AND t.generated_by = 'auto' "
                    f"AND {_UNUSED} RETURNING id",
                    (token_id, unused_since),
                ).fetchone()
                if row is not None:
                    deleted.append(row[0])
            self._rows_changed("tokens", deleted)
        return deleted


def _credential(row: tuple[Any, ...]) -> Credential:
    kind = {
        "manual": CredentialKind.PERSONAL,
        "auto": CredentialKind.SESSION,
        "organization": CredentialKind.ORGANIZATION,
    }[row[8]]
    return Credential(
        kind=kind,
        id=row[0],
        uuid=row[1],
        owner=row[2],
        description=row[3],
        active=bool(row[4]),
        created_at=row[5],
        expires_at=row[6],
        last_used_at=row[7],
    )
