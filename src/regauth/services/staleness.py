"""The staleness policy (`[limits] deactivate_unused_after`): tokens unused that long are
deactivated (session tokens deleted), each with an audit event and a notification; and the
report of unused tokens for admins."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Protocol

from regauth.config import LiveConfig, expiry_days
from regauth.domain.clock import Clock
from regauth.domain.hygiene import TOKEN_DEACTIVATED_STALE, Credential, CredentialKind
from regauth.domain.models import Actor
from regauth.domain.timefmt import rfc3339
from regauth.services.audit import AuditLog
from regauth.services.notifications import Notifier
from regauth.store.base import CredentialStore, Database

POLICY_ACTOR = Actor(name="staleness-policy", kind="policy")
DEACTIVATED = "token.deactivated_stale"
SESSION_DELETED = "session_token.deleted_stale"
# Tokens one sweep acts on; the next sweep (an hour later) takes the rest.
SWEEP_LIMIT = 1000


class StalenessStore(Database, CredentialStore, Protocol):
    """The tokens and their last uses."""


@dataclass(frozen=True, slots=True)
class Swept:
    deactivated: list[Credential] = field(default_factory=list)
    deleted: list[Credential] = field(default_factory=list)

    def __str__(self) -> str:
        return f"deactivated {len(self.deactivated)}, deleted {len(self.deleted)}"


class StalenessPolicy:
    def __init__(
        self,
        store: StalenessStore,
        audit: AuditLog,
        notifier: Notifier,
        *,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._audit = audit
        self._notifier = notifier
        self._settings = settings
        self._clock = clock

    @property
    def unused_days(self) -> int:
        """The policy's period in days; 0: off."""
        return expiry_days(self._settings.current.limits.deactivate_unused_after)

    def sweep(self) -> Swept:
        """Apply the policy once. Each token is its own transaction, written only if it is
        still unused then (a use flushed meanwhile, or another replica's sweep, wins)."""
        days = self.unused_days
        if not days:
            return Swept()
        now = int(self._clock())
        cutoff = now - days * 86400
        found = self._store.stale_credentials(
            unused_since=cutoff, now=now, for_policy=True, limit=SWEEP_LIMIT
        )
        swept = Swept()
        sessions = [c for c in found if c.kind is CredentialKind.SESSION]
        for credential in found:
            if credential.kind is not CredentialKind.SESSION:
                with self._store.transaction():
                    if self._store.deactivate_unused(credential, unused_since=cutoff, now=now):
                        self._tell(DEACTIVATED, credential, days, "deactivated")
                        swept.deactivated.append(credential)
        if sessions:
            with self._store.transaction():
                deleted = set(
                    self._store.delete_unused_session_tokens(
                        [c.id for c in sessions], unused_since=cutoff
                    )
                )
                for credential in sessions:
                    if credential.id in deleted:
                        self._tell(SESSION_DELETED, credential, days, "deleted")
                        swept.deleted.append(credential)
        return swept

    def _tell(self, action: str, credential: Credential, days: int, done: str) -> None:
        owner_key = "org" if credential.kind is CredentialKind.ORGANIZATION else "owner"
        last_used = rfc3339(credential.last_used_at)
        details = {owner_key: credential.owner, "kind": credential.kind.value}
        self._audit.record(
            POLICY_ACTOR,
            action,
            credential.id,
            **details,
            unused_days=days,
            last_used_at=last_used or "never",
        )
        self._notifier.notify(
            TOKEN_DEACTIVATED_STALE,
            credential,
            action=done,
            unused_days=days,
        )

    def report(self, *, unused_seconds: int, limit: int = 100) -> list[Credential]:
        """Unexpired tokens of every kind unused for `unused_seconds` (or never used and made
        that long ago), active or not, the longest unused first: what a policy of that
        period would act on, and what it has already deactivated."""
        now = int(self._clock())
        return self._store.stale_credentials(
            unused_since=now - unused_seconds, now=now, for_policy=False, limit=limit
        )
