"""The audit trail: every change as an event; failed sign-ins counted per key and hour."""

from __future__ import annotations

import logging
from typing import Any

from regauth import logs
from regauth.domain import usernames
from regauth.domain.clock import Clock
from regauth.domain.models import Actor, AuditEvent, AuditQuery
from regauth.domain.redaction import scrub
from regauth.store.base import Store

log = logging.getLogger("regauth.audit")
AUTH_FAILED = "auth.failed"
_WINDOW_SECONDS = 3600
# Distinct (username, ip, reason) keys kept per flush; past it a flood folds into one row per IP.
_MAX_KEYS_PER_FLUSH = 1000


class AuditLog:
    def __init__(self, store: Store, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._failures: dict[str, AuditEvent] = {}

    def record(self, actor: Actor, action: str, target: str | None, **details: Any) -> AuditEvent:
        """A change by an authenticated actor (a user, an admin key, the CLI): its name is ours.

        A name someone only presented goes through failed_authentication(), never here.
        """
        event = AuditEvent(
            at=int(self._clock()),
            actor=actor.name,
            actor_kind=actor.kind,
            action=action,
            target=target,
            ip=actor.ip,
            user_agent=_agent(actor.user_agent),
            details=details or None,
        )
        self._store.append_audit(event)
        logs.event(
            log, logging.INFO, action, actor=actor.name, actor_kind=actor.kind, target=target
        )
        return event

    def failed_authentication(
        self, username: str, ip: str | None, user_agent: str | None, reason: str
    ) -> None:
        """Counted in memory and written with the usage batch: a flood costs no write per try.

        The username is only what was presented: a password or a token typed into the field
        must not be kept, so anything no account could be called is kept as INVALID.
        """
        username = usernames.presented(username)
        user_agent = _agent(user_agent)
        now = int(self._clock())
        window = now - now % _WINDOW_SECONDS
        key = f"{AUTH_FAILED}|{window}|{username}|{ip}|{reason}"
        if key not in self._failures and len(self._failures) >= _MAX_KEYS_PER_FLUSH:
            username, reason = "*", "many"
            key = f"{AUTH_FAILED}|{window}|*|{ip}|many"
        previous = self._failures.get(key)
        self._failures[key] = AuditEvent(
            at=now,
            actor=username,
            actor_kind="anonymous",
            action=AUTH_FAILED,
            target=username,
            ip=ip,
            user_agent=user_agent,
            details={"reason": reason},
            count=(previous.count + 1) if previous else 1,
        )

    def flush(self) -> int:
        pending, self._failures = self._failures, {}
        self._store.add_aggregated_audit(list(pending.items()))
        return len(pending)

    def list(self, query: AuditQuery) -> list[AuditEvent]:
        return self._store.list_audit(query)


def _agent(user_agent: str | None) -> str | None:
    # The client writes it; a tool that puts a token in its User-Agent must not leak it here.
    return scrub(user_agent) if user_agent else user_agent
