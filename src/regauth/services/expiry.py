"""Expiry notices: `token.expiring` some days before a token's expiry, and `token.expired` once
it has passed, each once per token and expiry date, however many processes look."""

from __future__ import annotations

from typing import Protocol

from regauth.config import LiveConfig
from regauth.domain.clock import Clock
from regauth.domain.hygiene import TOKEN_EXPIRED, TOKEN_EXPIRING
from regauth.domain.timefmt import rfc3339
from regauth.services.notifications import Notifier
from regauth.services.transactions import transactional
from regauth.store.base import CredentialStore, Database

# How far back an expiry is still told: a deployment that was down over a token's expiry says
# so when it is back, but turning notifications on does not announce years of old expiries.
EXPIRED_LOOKBACK_SECONDS = 7 * 86400


class ExpiryStore(Database, CredentialStore, Protocol):
    """The tokens expiring, or expired lately."""


class ExpiryNotices:
    def __init__(
        self, store: ExpiryStore, notifier: Notifier, *, settings: LiveConfig, clock: Clock
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._settings = settings
        self._clock = clock

    @transactional
    def sweep(self) -> int:
        """The notices due now, kept for delivery; returns how many were new."""
        if not self._notifier.enabled:
            return 0
        now = int(self._clock())
        days = self._settings.current.notifications.expiring_days
        new = 0
        for credential in self._store.credentials_expiring(after=now, until=now + days * 86400):
            assert credential.expires_at is not None
            # Once per expiry date: a token given a later expiry would be told again.
            new += self._notifier.notify(
                TOKEN_EXPIRING,
                credential,
                once_per=str(credential.expires_at),
                expires_at=rfc3339(credential.expires_at),
                days_left=max(0, (credential.expires_at - now) // 86400),
            )
        since = now - EXPIRED_LOOKBACK_SECONDS
        for credential in self._store.credentials_expiring(after=since, until=now):
            assert credential.expires_at is not None
            new += self._notifier.notify(
                TOKEN_EXPIRED,
                credential,
                once_per=str(credential.expires_at),
                expired_at=rfc3339(credential.expires_at),
            )
        return new
