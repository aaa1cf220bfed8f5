"""Notifications: events of credential hygiene kept for the webhook, once each per deployment,
and what admins see of their delivery."""

from __future__ import annotations

import uuid
from typing import Any, Protocol

from regauth.config import LiveConfig
from regauth.domain.clock import Clock
from regauth.domain.hygiene import Credential, Notification, NotificationQuery, payload
from regauth.domain.models import Actor
from regauth.errors import Conflict, NotFoundInStore
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Database, NotificationStore

# Delivered and given-up notifications are kept this long for admins to see, and longer than
# any window an event is looked for in (an expiry notice's dedup key must outlive it).
KEEP_SECONDS = 400 * 86400


class NotifierStore(Database, NotificationStore, Protocol):
    """Where notifications are kept until delivered."""


class Notifier:
    def __init__(
        self, store: NotifierStore, audit: AuditLog, *, settings: LiveConfig, clock: Clock
    ) -> None:
        self._store = store
        self._audit = audit
        self._settings = settings
        self._clock = clock

    @property
    def enabled(self) -> bool:
        """Events are kept only while a webhook is configured: none pile up for nobody."""
        return bool(self._settings.current.notifications.webhook_url)

    def notify(
        self, event: str, credential: Credential, *, once_per: str | None = None, **details: Any
    ) -> bool:
        """Keep `event` about `credential` for delivery, unless the same (event, credential,
        `once_per`) was kept already, by this process or another; `once_per` None: the
        current second (a change that cannot happen twice at once, such as a deactivation).
        Inside the caller's transaction when there is one: the change and its notification
        commit together."""
        if not self.enabled:
            return False
        now = int(self._clock())
        notification_id = str(uuid.uuid4())
        key = f"{event}:{credential.kind.value}:{credential.id}:{once_per or now}"
        return self._store.add_notification(
            Notification(
                id=notification_id,
                event=event,
                dedup_key=key,
                payload=payload(event, notification_id, now, credential, **details),
                created_at=now,
                next_attempt_at=now,
                attempts=0,
                delivered_at=None,
                failed_at=None,
                last_status=None,
                last_error=None,
            )
        )

    def list(self, query: NotificationQuery) -> list[Notification]:
        return self._store.list_notifications(query)

    def get(self, notification_id: str) -> Notification:
        found = self._store.get_notification(notification_id)
        if found is None:
            raise NotFoundInStore(f"no such notification: {notification_id!r}")
        return found

    @transactional
    def retry(self, notification_id: str, actor: Actor) -> Notification:
        """A given-up (or still pending) notification due again now, attempts counted from 0."""
        found = self.get(notification_id)
        if found.delivered_at is not None:
            raise Conflict("the notification was delivered: there is nothing to retry")
        retried = self._store.retry_notification(notification_id, now=int(self._clock()))
        assert retried is not None  # a notification is only ever deleted once delivered or failed
        self._audit.record(actor, "notification.retry", notification_id, event=found.event)
        return retried

    def purge(self) -> int:
        return self._store.purge_notifications(before=int(self._clock()) - KEEP_SECONDS)
