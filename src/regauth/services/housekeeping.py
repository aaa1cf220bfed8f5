"""The deployment's periodic work (the staleness sweep, expiry notices, the notifications'
clean-up): each job run by one process of the deployment each time it is due, whichever of
the workers and replicas gets there first (the database decides, never a process's memory)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

from regauth import logs
from regauth.domain.clock import Clock
from regauth.store.base import Database, JobStore

log = logging.getLogger("regauth.housekeeping")
# A job that failed is tried again this much later rather than at its next period.
RETRY_SECONDS = 60


@dataclass(frozen=True, slots=True)
class Job:
    name: str
    every_seconds: int
    run: Callable[[], object]  # synchronous: it runs in one of the store's threads
    wanted: Callable[[], bool] = lambda: True  # e.g. only while its policy is configured


class HousekeepingStore(Database, JobStore, Protocol):
    """When each job is due."""


class Housekeeping:
    def __init__(self, store: HousekeepingStore, jobs: Sequence[Job], *, clock: Clock) -> None:
        self._store = store
        self._jobs = tuple(jobs)
        self._clock = clock

    @property
    def jobs(self) -> tuple[Job, ...]:
        return self._jobs

    def run_due(self) -> list[str]:
        """Run every wanted job that is due and that this process claims; their names. A job
        that raises is logged and due again in RETRY_SECONDS; the others still run."""
        ran: list[str] = []
        for job in self._jobs:
            if not job.wanted():
                continue
            now = int(self._clock())
            if not self._store.claim_job(job.name, now=now, next_due=now + job.every_seconds):
                continue
            try:
                result = job.run()
            except Exception as exc:
                logs.event(log, logging.ERROR, "job_failed", job=job.name, cause=type(exc).__name__)
                self._store.reschedule_job(job.name, due_at=now + RETRY_SECONDS)
                continue
            logs.event(log, logging.INFO, "job_ran", job=job.name, result=_summary(result))
            ran.append(job.name)
        return ran


def _summary(result: object) -> object:
    return result if isinstance(result, int | str | None) else str(result)
