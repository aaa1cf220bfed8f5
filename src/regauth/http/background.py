"""A serving process's background work: the deployment's periodic jobs, the audit export and
the webhook's deliveries, each round claimed in the database, so that with several workers and
replicas each piece is done once (services/housekeeping.py, audit_export.py, webhooks.py)."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator, Awaitable, Callable

from aiohttp import web

from regauth import logs
from regauth.http.webhooks import AiohttpSender, client_session
from regauth.runtime import Runtime
from regauth.services.audit_export import BATCH as EXPORT_BATCH

log = logging.getLogger("regauth.background")
TICK_SECONDS = 2.0
# Periodic jobs are asked for every this many ticks (whether one is due is a read).
JOBS_EVERY_TICKS = 15
# Batches of the audit export written in one tick while there is a backlog.
EXPORT_ROUNDS = 20


class Background:
    def __init__(self, runtime: Runtime, *, tick: float | None = None) -> None:
        self._runtime = runtime
        self._tick = TICK_SECONDS if tick is None else tick
        self._task: asyncio.Task[None] | None = None
        self._failing: set[str] = set()
        self._sender: AiohttpSender | None = None

    async def run_once(self, *, jobs: bool = True) -> None:
        """One round; what fails is logged (once while it keeps failing) and tried again at
        the next round."""
        runtime = self._runtime
        if jobs:
            await self._guard("jobs", lambda: runtime.store.run(runtime.housekeeping.run_due))
        if runtime.audit_export.enabled:
            await self._guard("audit_export", self._export)
        if runtime.notifier.enabled and self._sender is not None:
            sender = self._sender
            await self._guard("webhooks", lambda: runtime.webhooks.deliver_due(sender))

    async def _export(self) -> None:
        for _ in range(EXPORT_ROUNDS):
            written = await self._runtime.store.run(self._runtime.audit_export.export)
            if written < EXPORT_BATCH:
                return

    async def _guard(self, name: str, work: Callable[[], Awaitable[object]]) -> None:
        try:
            await work()
        except Exception as exc:
            if name not in self._failing:
                self._failing.add(name)
                logs.event(
                    log, logging.ERROR, "background_failed", work=name, cause=type(exc).__name__
                )
        else:
            if name in self._failing:
                self._failing.discard(name)
                logs.event(log, logging.INFO, "background_recovered", work=name)

    async def _loop(self) -> None:
        ticks = 0
        while True:
            await asyncio.sleep(self._tick)
            ticks += 1
            await self.run_once(jobs=ticks % JOBS_EVERY_TICKS == 0)

    async def context(self, app: web.Application) -> AsyncIterator[None]:
        """aiohttp's cleanup context: the loop while the app serves. Registered before the
        batch writers, it stops after them, and exports once more what they wrote last."""
        async with client_session() as session:
            self._sender = AiohttpSender(session)
            self._task = asyncio.create_task(self._loop())
            yield
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            if self._runtime.audit_export.enabled:
                await self._guard("audit_export", self._export)
            self._sender = None


def add_background(app: web.Application, runtime: Runtime) -> Background:
    background = Background(runtime)
    app.cleanup_ctx.append(background.context)
    return background
