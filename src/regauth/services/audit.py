"""The audit trail: every change as an event; failed sign-ins counted per key and hour."""

from __future__ import annotations

import dataclasses
import logging
import threading
from typing import Any, Protocol

from regauth import logs
from regauth.domain import usernames
from regauth.domain.clock import Clock
from regauth.domain.models import Actor, AuditEvent, AuditQuery, User
from regauth.domain.redaction import scrub
from regauth.store.base import AuditStore, Database

log = logging.getLogger("regauth.audit")
AUTH_FAILED = "auth.failed"
# A failed sign-in's name in the log when nothing showed it names an account.
UNVERIFIED = "<not an account, or not shown to be>"
_WINDOW_SECONDS = 3600
# Distinct (username, ip, reason) keys kept per flush; past it a flood folds into one row per IP.
_MAX_KEYS_PER_FLUSH = 1000
# Events held while the database refuses writes (counted keys and changes not yet written):
# a few MB. Past it, an event that would need a new entry is dropped and counted, and the
# count is logged (audit_events_dropped) at the next flush; counts of held keys still grow.
MAX_PENDING = 10_000


class AuditLogStore(Database, AuditStore, Protocol):
    """Where events go, and whether the caller's operation is a transaction they join."""


class AuditLog:
    """Changes are written at once; failed sign-ins are counted and written in batches.

    A write that fails (the database locked by another process past the busy timeout, a full
    disk) loses nothing: what was not written is kept for the next flush, up to MAX_PENDING.
    """

    def __init__(
        self, store: AuditLogStore, *, clock: Clock, max_pending: int = MAX_PENDING
    ) -> None:
        self._store = store
        # Failed sign-ins are counted on the event loop, changes recorded in the store's
        # threads, a flush runs in one of them: what is pending changes hands under this lock.
        self._lock = threading.Lock()
        self._clock = clock
        self._max_pending = max_pending
        self._failures: dict[str, AuditEvent] = {}
        # Changes whose event could not be written when they were made, oldest first.
        self._deferred: list[AuditEvent] = []
        self._dropped = 0

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
        if self._store.in_transaction():
            # Part of the change's own transaction: the change and its event are committed
            # together or not at all (a failed write rolls the change back too).
            self._store.append_audit(event)
        else:
            self._append_or_defer(event)
        logs.event(
            log, logging.INFO, action, actor=actor.name, actor_kind=actor.kind, target=target
        )
        return event

    def _append_or_defer(self, event: AuditEvent) -> None:
        try:
            self._store.append_audit(event)
        except Exception:
            # The change is already committed: raising would not undo it, only lose its event
            # and fail a caller whose change was made. The next flush writes it.
            log.warning("audit_write_deferred", exc_info=True)
            with self._lock:
                self._defer(event)

    def failed_authentication(
        self,
        username: str,
        ip: str | None,
        user_agent: str | None,
        reason: str,
        *,
        names_an_account: bool = False,
    ) -> None:
        """Counted in memory and written with the usage batch: a flood costs no write per try.

        The username is only what was presented: a password or a token typed into the field
        must not be kept, so anything no account could be called is kept as INVALID.
        """
        username = usernames.presented(username)
        user_agent = _agent(user_agent)
        now = int(self._clock())
        # For the operator reading the logs now (the table has them an hour at a time); the
        # request id ties it to the access line. Never a secret: the name only when the
        # refusal showed it names an account (else it may be a password typed in the wrong
        # field), and the refusal's own words.
        shown = username if names_an_account else UNVERIFIED
        logs.event(log, logging.INFO, "sign_in_failed", user=shown, reason=reason, ip=ip)
        with self._lock:
            self._count_failure(username, ip, user_agent, reason, now)

    def _count_failure(
        self, username: str, ip: str | None, user_agent: str | None, reason: str, now: int
    ) -> None:
        window = now - now % _WINDOW_SECONDS
        key = f"{AUTH_FAILED}|{window}|{username}|{ip}|{reason}"
        if key not in self._failures and len(self._failures) >= _MAX_KEYS_PER_FLUSH:
            username, reason = "*", "many"
            key = f"{AUTH_FAILED}|{window}|*|{ip}|many"
        previous = self._failures.get(key)
        if previous is None and self._full():
            self._dropped += 1
            return
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
        """Writes what is pending in one transaction. When that fails, everything is pending
        again and the error is raised: failures counted meanwhile under the same key are
        added to the counts taken, and the next flush writes them all."""
        with self._lock:
            dropped, self._dropped = self._dropped, 0
            failures, self._failures = self._failures, {}
            deferred, self._deferred = self._deferred, []
        if dropped:
            logs.event(log, logging.ERROR, "audit_events_dropped", dropped=dropped)
        rows: list[tuple[str | None, AuditEvent]] = [(None, e) for e in deferred]
        rows += failures.items()
        try:
            self._store.add_aggregated_audit(rows)
        except Exception:
            with self._lock:
                self._deferred[:0] = deferred
                for key, taken in failures.items():
                    newer = self._failures.get(key)
                    if newer is not None:
                        taken = dataclasses.replace(newer, count=newer.count + taken.count)
                    self._failures[key] = taken
            raise
        return len(rows)

    def _defer(self, event: AuditEvent) -> None:
        if self._full():
            self._dropped += 1
        else:
            self._deferred.append(event)

    def _full(self) -> bool:
        return len(self._failures) + len(self._deferred) >= self._max_pending

    def of_account(self, user: User, *, limit: int = 100) -> list[AuditEvent]:
        """The account's own events, newest first: never one from before it was made, when
        its name may have been another's (a deleted organization's, a failed sign-in's)."""
        return self.list(AuditQuery(subject=user.name, since=user.created_at, limit=limit))

    def list(self, query: AuditQuery) -> list[AuditEvent]:
        return self._store.list_audit(query)


def _agent(user_agent: str | None) -> str | None:
    # The client writes it; a tool that puts a token in its User-Agent must not leak it here.
    return scrub(user_agent) if user_agent else user_agent
