"""Last-used recording: remembered in memory per request, written in one batch every second; a
token used again within a minute from the same client is not written again."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
from collections.abc import Awaitable, Callable, Sequence
from typing import Protocol

from regauth.domain.models import TokenUse
from regauth.store.base import AdminKeyStore, OrgTokenStore, RepositoryStore, TokenStore

log = logging.getLogger("regauth.usage")


class UsageStore(TokenStore, OrgTokenStore, AdminKeyStore, RepositoryStore, Protocol):
    """Where last uses (and the repositories a push was granted to) are written."""


# Repositories this process knows were recorded as pushed to, before it forgets them all (and
# records each again once: the store keeps the first time). ~110 bytes a name: at 100,000 a
# worker held 11 MiB more after a load of distinct repositories; at 4,096 under 0.5 MiB.
PUSHED_KEPT = 4096
# A use this close after the one last queued for the same token, from the same address and
# user agent, is not written: a client pulling all day costs a write a minute, not a second
# (1,000 PATs in use were 1,000 row updates a second; on PostgreSQL then a statement each).
# Last used is exact to the minute, as the overview shows it; GitLab waits 10 minutes.
REWRITE_AFTER_SECONDS = 60
# Last uses remembered per kind of token, before all are forgotten (each then written once
# more): ~370 bytes a token with docker's user agent, 1.5 MiB at the bound.
WRITTEN_KEPT = 4096


class UsageRecorder:
    """A commit per /token request cost a third of the throughput with two workers (a minimal
    token handler in two processes: 5.9k req/s with a commit per request, 8.6k with one batch
    a second); the last use of each token in a short window is all the overview shows anyway."""

    def __init__(self, store: UsageStore) -> None:
        self._store = store
        self._pending: dict[str, TokenUse] = {}
        self._pending_org: dict[str, TokenUse] = {}
        self._pending_admin: dict[str, TokenUse] = {}
        # The last use queued of each token (written, or pending): what a new one is compared
        # with, per kind, on the thread that records that kind.
        self._queued: dict[str, TokenUse] = {}
        self._queued_org: dict[str, TokenUse] = {}
        self._queued_admin: dict[str, TokenUse] = {}
        # Repositories a push was granted to: the first time this process saw each, until
        # written; then only remembered, so a repository costs one set look-up per push.
        self._pending_pushes: dict[str, int] = {}
        self._pushed: set[str] = set()
        # Uses are recorded on the event loop (and, for admin keys, in the store's threads)
        # while a flush runs in a store thread: the batches change hands under this lock.
        self._lock = threading.Lock()

    def record(self, token_id: str, use: TokenUse) -> None:
        if _worth_writing(self._queued, token_id, use):
            with self._lock:
                self._pending[token_id] = use

    def record_org(self, token_id: str, use: TokenUse) -> None:
        if _worth_writing(self._queued_org, token_id, use):
            with self._lock:
                self._pending_org[token_id] = use

    def record_admin_key(self, key_id: str, use: TokenUse) -> None:
        # Rarer than /token, but a commit per call would be a write per admin API call. Called
        # in the store's threads: the comparison too is under the lock.
        with self._lock:
            if _worth_writing(self._queued_admin, key_id, use):
                self._pending_admin[key_id] = use

    def record_push_grant(self, repository: str, at: int) -> None:
        """A token that may push to `repository` was issued (on the event loop)."""
        if repository in self._pushed:
            return
        with self._lock:
            if len(self._pushed) >= PUSHED_KEPT:
                self._pushed.clear()
            self._pushed.add(repository)
            self._pending_pushes.setdefault(repository, at)

    def flush(self) -> int:
        with self._lock:
            pending, self._pending = self._pending, {}
            pending_org, self._pending_org = self._pending_org, {}
            pending_admin, self._pending_admin = self._pending_admin, {}
            pushes, self._pending_pushes = self._pending_pushes, {}
        try:
            self._store.record_token_uses(pending)
            self._store.record_org_token_uses(pending_org)
            self._store.record_admin_key_uses(pending_admin)
            self._store.record_push_grants(pushes)
        except Exception:
            # Keep the records for the next round; a newer use of the same token wins. (The
            # ones already written are written again: the store never moves a use back.)
            with self._lock:
                for kept, batch in (
                    (self._pending, pending),
                    (self._pending_org, pending_org),
                    (self._pending_admin, pending_admin),
                ):
                    for key, use in batch.items():
                        kept.setdefault(key, use)
                for repository, at in pushes.items():
                    self._pending_pushes.setdefault(repository, at)
            raise
        return len(pending) + len(pending_org) + len(pending_admin)


def _worth_writing(queued: dict[str, TokenUse], token_id: str, use: TokenUse) -> bool:
    """Whether `use` says more than the use last queued for the token (then it is queued in its
    place): a new client, or a minute later."""
    last = queued.get(token_id)
    if (
        last is not None
        and use.at - last.at < REWRITE_AFTER_SECONDS
        and use.ip == last.ip
        and use.user_agent == last.user_agent
    ):
        return False
    if last is None and len(queued) >= WRITTEN_KEPT:
        queued.clear()
    queued[token_id] = use
    return True


class PeriodicFlusher:
    """Runs each batch writer every `interval` seconds, and once more at shutdown, through
    `offload` (the store's threads): a slow or locked database never holds the event loop."""

    def __init__(
        self,
        flushers: Sequence[Callable[[], int]],
        *,
        interval: float,
        offload: Callable[[Callable[[], int]], Awaitable[int]],
    ) -> None:
        self._flushers = flushers
        self._interval = interval
        self._offload = offload
        self._task: asyncio.Task[None] | None = None
        self._failing: set[int] = set()

    async def flush(self) -> None:
        for index, flush in enumerate(self._flushers):
            try:
                await self._offload(flush)
            except Exception as exc:
                # A busy or failing database must not stop the loop; the next round retries.
                # One line when a writer starts failing (not one a second while it does).
                if index not in self._failing:
                    self._failing.add(index)
                    log.error("flush_failed", extra={"fields": {"cause": type(exc).__name__}})
            else:
                if index in self._failing:
                    self._failing.discard(index)
                    log.info("flush_recovered")

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self.flush()

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            await self.flush()
