"""The audit log: one row per change, failed sign-ins counted into one row per key and hour."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from regauth.domain.models import (
    ACCOUNT_TARGET_ACTIONS,
    OWNED_TOKEN_ACTIONS,
    AuditEvent,
    AuditQuery,
)
from regauth.store.sql.base import SqlTables

_COLUMNS = "id, at, actor, actor_kind, action, target, ip, user_agent, details, count"


class AuditTable(SqlTables):
    def append_audit(self, event: AuditEvent) -> None:
        with self._transaction(announce=False) as conn:
            conn.execute(
                "INSERT INTO audit_events (at, actor, actor_kind, action, target, ip, user_agent, "
                "details, count) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                _values(event),
            )

    def add_aggregated_audit(self, events: Sequence[tuple[str | None, AuditEvent]]) -> None:
        """Upsert counted events by key: a flood adds to a count instead of adding rows. An
        event without a key is appended (NULLs never conflict on the UNIQUE key)."""
        if not events:
            return
        greatest = self._backend.dialect.greatest
        # Audit rows feed no cache: nobody needs to be told.
        with self._transaction(announce=False) as conn:
            conn.executemany(
                "INSERT INTO audit_events (at, actor, actor_kind, action, target, ip, user_agent, "
                "details, count, aggregate_key) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(aggregate_key) DO UPDATE SET "
                "count = audit_events.count + excluded.count, "
                f"at = {greatest}(audit_events.at, excluded.at), user_agent = excluded.user_agent",
                [(*_values(event), key) for key, event in events],
            )

    def list_audit(self, query: AuditQuery) -> list[AuditEvent]:
        clauses: list[str] = []
        params: list[Any] = []
        for column, value, op in (
            ("actor", query.actor, "="),
            ("action", query.action, "="),
            ("at", query.since, ">="),
            ("at", query.until, "<="),
        ):
            if value is not None:
                clauses.append(f"{column} {op} ?")
                params.append(value)
        if query.subject is not None:
            owner = self._backend.dialect.json_text.format(column="details", key="owner")
            about_account = _any_prefix(ACCOUNT_TARGET_ACTIONS)
            about_tokens = _any_prefix(OWNED_TOKEN_ACTIONS)
            clauses.append(
                f"((actor_kind = ? AND actor = ?) OR (target = ? AND {about_account}) "
                f"OR ({owner} = ? AND {about_tokens}))"
            )
            params += ["user", query.subject, query.subject, *ACCOUNT_TARGET_ACTIONS]
            params += [query.subject, *OWNED_TOKEN_ACTIONS]
        where = ("WHERE " + " AND ".join(clauses)) if clauses else ""
        rows = self._all(
            f"SELECT {_COLUMNS} FROM audit_events {where} ORDER BY at DESC, id DESC LIMIT ? OFFSET ?",
            (*params, query.limit, query.offset),
        )
        return [
            AuditEvent(
                id=r[0],
                at=r[1],
                actor=r[2],
                actor_kind=r[3],
                action=r[4],
                target=r[5],
                ip=r[6],
                user_agent=r[7],
                details=json.loads(r[8]) if r[8] else None,
                count=r[9],
            )
            for r in rows
        ]


def _any_prefix(prefixes: Sequence[str]) -> str:
    # substr, not LIKE: "_" in "session_token." is no wildcard, and both dialects have it.
    return "(" + " OR ".join(f"substr(action, 1, {len(p)}) = ?" for p in prefixes) + ")"


def _values(event: AuditEvent) -> tuple[Any, ...]:
    return (
        event.at,
        event.actor,
        event.actor_kind,
        event.action,
        event.target,
        event.ip,
        event.user_agent,
        json.dumps(event.details, sort_keys=True) if event.details else None,
        event.count,
    )
