"""Webhook deliveries: due notifications claimed by one process, POSTed signed, retried with
backoff; the HTTP client is the caller's (`Sender`), as services speak no HTTP themselves."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Protocol

from regauth import logs
from regauth.config import LiveConfig, NotificationsConfig
from regauth.domain import webhooks
from regauth.domain.clock import Clock
from regauth.domain.hygiene import Claimed
from regauth.store.base import Database, NotificationStore

log = logging.getLogger("regauth.webhooks")
BATCH = 20
# Deliveries in flight at once per process: a slow receiver holds a few, not the batch.
CONCURRENCY = 4
FIRST_RETRY_SECONDS = 30
LONGEST_WAIT_SECONDS = 3600


class DeliveryFailed(Exception):
    """No answer from the receiver. `cause` is a short fixed text ("timeout", "connection
    refused"), never the URL (it may hold credentials) nor what the client library said."""

    def __init__(self, cause: str) -> None:
        super().__init__(cause)
        self.cause = cause


class Sender(Protocol):
    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, wait_seconds: float
    ) -> int:
        """The receiver's status; DeliveryFailed when there is none."""
        ...


class WebhookStore(Database, NotificationStore, Protocol):
    """The notifications to deliver."""


def backoff(attempts: int) -> int:
    """The wait after the `attempts`-th failure: 30 s, 1 min, 2 min, ... at most an hour."""
    return int(min(FIRST_RETRY_SECONDS * 2 ** (attempts - 1), LONGEST_WAIT_SECONDS))


class WebhookDelivery:
    def __init__(self, store: WebhookStore, *, settings: LiveConfig, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock
        self._secret_trouble: str | None = None  # logged once while it lasts

    async def deliver_due(self, sender: Sender, *, limit: int = BATCH) -> int:
        """Send what is due (on the event loop; the store's work in its threads); returns how
        many were delivered. Nothing is claimed without a webhook and its key."""
        config = self._settings.current.notifications
        if not config.webhook_url:
            return 0
        key = await self._store.run(self._key, config)
        if key is None:
            return 0
        now = int(self._clock())
        # Held for longer than an attempt can take: a process that dies while sending leaves
        # it to another after that, its attempt counted.
        hold = now + int(config.timeout_seconds * 2) + 30
        claimed = await self._store.run(
            self._store.claim_notifications, now=now, hold_until=hold, limit=limit
        )
        gate = asyncio.Semaphore(CONCURRENCY)

        async def one(notification: Claimed) -> bool:
            async with gate:
                return await self._attempt(sender, config, key, notification)

        results = await asyncio.gather(*(one(n) for n in claimed))
        return sum(results)

    async def _attempt(
        self, sender: Sender, config: NotificationsConfig, key: bytes, claimed: Claimed
    ) -> bool:
        body = claimed.payload.encode()
        timestamp = int(self._clock())
        headers = webhooks.headers(
            key, event=claimed.event, delivery=claimed.id, timestamp=timestamp, body=body
        )
        status: int | None = None
        try:
            status = await sender.post(
                config.webhook_url, body, headers, wait_seconds=config.timeout_seconds
            )
        except DeliveryFailed as exc:
            error: str | None = exc.cause
        else:
            error = None if 200 <= status < 300 else f"HTTP {status}"
        delivered = error is None
        now = int(self._clock())
        retry_at = None
        if not delivered and claimed.attempts < config.max_attempts:
            retry_at = now + backoff(claimed.attempts)
        await self._store.run(
            self._store.finish_notification,
            claimed.id,
            now=now,
            delivered=delivered,
            status=status,
            error=error,
            retry_at=retry_at,
        )
        fields = {"id": claimed.id, "notification": claimed.event, "attempt": claimed.attempts}
        if delivered:
            logs.event(log, logging.INFO, "webhook_delivered", status=status, **fields)
        elif retry_at is not None:
            logs.event(
                log,
                logging.WARNING,
                "webhook_failed",
                error=error,
                retry_in=retry_at - now,
                **fields,
            )
        else:
            logs.event(log, logging.ERROR, "webhook_given_up", error=error, **fields)
        return delivered

    def _key(self, config: NotificationsConfig) -> bytes | None:
        """The signing key, read at every round: replacing the file takes effect at once."""
        trouble: str | None
        try:
            key = Path(config.webhook_secret_file).read_bytes().strip()
        except OSError as exc:
            trouble = exc.strerror or type(exc).__name__
        else:
            trouble = None if key else "the file is empty"
        if trouble is not None:
            if self._secret_trouble != trouble:
                # Not the file's contents, nor the URL: the path and what is wrong with it.
                logs.event(
                    log,
                    logging.ERROR,
                    "webhook_secret_unreadable",
                    path=config.webhook_secret_file,
                    cause=trouble,
                )
            self._secret_trouble = trouble
            return None
        self._secret_trouble = None
        return key
