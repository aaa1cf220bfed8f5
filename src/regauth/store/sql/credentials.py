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
        """Unexpired tokens of every kind unused since `unused_since`, the longest unused
        first. `for_policy`: only those the staleness policy acts on (active ones, and
        session tokens; not one it deactivated itself since)."""
        clauses = [_UNUSED, _UNEXPIRED]
        params: list[Any] = [unused_since, now]
        org_clauses = list(clauses)
        if for_policy:
            clauses.append(
                f"(t.generated_by = 'auto' OR (t.active = TRUE AND {_NOT_JUST_DEACTIVATED}))"
            )
            org_clauses += ["t.active = TRUE", _NOT_JUST_DEACTIVATED]
        rows = self._all(
            f"{_TOKENS} WHERE {' AND '.join(clauses)} "
            "ORDER BY COALESCE(t.last_used_at, t.created_at), t.id LIMIT ?",
            (*params, *([unused_since] if for_policy else []), limit),
        )
        rows += self._all(
            f"{_ORG_TOKENS} WHERE {' AND '.join(org_clauses)} "
            "ORDER BY COALESCE(t.last_used_at, t.created_at), t.id LIMIT ?",
            (*params, *([unused_since] if for_policy else []), limit),
        )
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
                    f"AND {_UNUSED} RETURNING t.id",
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
