"""Rotation: a personal or organization access token's secret regenerated in place, keeping
everything else about the token; the old secret accepted for an optional grace period, and
never after."""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol, TypeVar

from regauth.domain.clock import Clock
from regauth.domain.durations import format_duration
from regauth.domain.models import (
    Actor,
    Organization,
    OrgTokenRecord,
    TokenAuthRecord,
    TokenRecord,
    revoked_as_leaked,
)
from regauth.domain.timefmt import rfc3339
from regauth.domain.tokens import AccessToken, TokenKind, secret_matches
from regauth.errors import BadRequest, Conflict, NotFoundInStore
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Database, OrgTokenStore, TokenSecretStore, TokenStore, UserStore

# Longer than this, the old secret is a second token, not a hand-over.
MAX_GRACE_SECONDS = 7 * 86400


@dataclass(frozen=True, slots=True)
class Regenerated:
    record: TokenRecord
    # The new secret, shown this once: never stored, never logged.
    token: AccessToken
    # Until when the old secret still works; None: it stopped at once.
    previous_valid_until: int | None


@dataclass(frozen=True, slots=True)
class RegeneratedOrgToken:
    record: OrgTokenRecord
    token: AccessToken  # shown this once
    previous_valid_until: int | None


class Rotated(Protocol):
    """A token's secrets as stored: the current one, and the one it replaced while its grace
    period lasts (personal and organization tokens alike)."""

    @property
    def secret_hash(self) -> bytes: ...

    @property
    def previous_secret_hash(self) -> bytes | None: ...

    @property
    def previous_secret_until(self) -> int | None: ...


@dataclass(frozen=True, slots=True)
class SecretMatch:
    """A secret /token accepted: the current one (`until` None), or the old one of a
    regenerated token, which is accepted until `until` only."""

    until: int | None


def match_secret(key: bytes, secret: str, record: Rotated, now: float) -> SecretMatch | None:
    if secret_matches(key, secret, record.secret_hash):
        return SecretMatch(None)
    until = record.previous_secret_until
    if (
        record.previous_secret_hash is not None
        and until is not None
        and now < until
        and secret_matches(key, secret, record.previous_secret_hash)
    ):
        return SecretMatch(until)
    return None


def secret_fingerprint(stored_hash: bytes) -> str:
    """Which of a token's secrets a session was opened with, without the secret: a digest of
    the secret's stored keyed hash, which a session's holder learns nothing from."""
    return hashlib.sha256(b"regauth session secret\0" + stored_hash).hexdigest()[:32]


def presented_fingerprint(
    key: bytes, secret: str, record: TokenAuthRecord, now: float
) -> str | None:
    """The fingerprint of the secret presented (the current one, or the old one in its grace
    period); None if neither matches."""
    match = match_secret(key, secret, record, now)
    if match is None:
        return None
    stored = record.secret_hash if match.until is None else record.previous_secret_hash
    return None if stored is None else secret_fingerprint(stored)


def still_accepted(fingerprint: str | None, record: TokenAuthRecord, now: float) -> bool:
    """Whether the secret a session was opened with still works: a regeneration ends the
    sessions of the secret it replaced when that secret stops (at once, or when its grace
    period ends), as a new sign-in with it would be refused."""
    if fingerprint is None:
        return False
    if hmac.compare_digest(fingerprint, secret_fingerprint(record.secret_hash)):
        return True
    previous, until = record.previous_secret_hash, record.previous_secret_until
    return (
        previous is not None
        and until is not None
        and now < until
        and hmac.compare_digest(fingerprint, secret_fingerprint(previous))
    )


def earliest(a: int | None, b: int | None) -> int | None:
    """The sooner of two ends, None being never."""
    return b if a is None else a if b is None else min(a, b)


R = TypeVar("R", TokenRecord, OrgTokenRecord)


class RotationStore(Database, TokenStore, TokenSecretStore, OrgTokenStore, UserStore, Protocol):
    """The token and its owner."""


class RotationService:
    def __init__(
        self, store: RotationStore, audit: AuditLog, *, hmac_key: bytes, clock: Clock
    ) -> None:
        self._store = store
        self._audit = audit
        self._hmac_key = hmac_key
        self._clock = clock

    @transactional
    def regenerate(
        self, record: TokenRecord, actor: Actor, *, grace_seconds: int = 0
    ) -> Regenerated:
        """A new secret for the same token (id, uuid, description, access, expiry, ...).
        A second regeneration ends the first one's grace period at once: only the secret
        replaced last may still work."""
        if record.generated_by != "manual":
            raise Conflict("a session token is not regenerated: sign in again for a new one")
        until = self._grace_until(record, grace_seconds)
        owner = self._store.get_user_by_id(record.owner_id)
        if owner is None or owner.disabled:
            raise Conflict(f"account {record.owner_name!r} is disabled")
        token, updated = self._replaced(
            TokenKind.PERSONAL,
            record,
            until,
            self._store.replace_token_secret,
            self._store.get_token,
            "no such access token",
        )
        self._audit.record(
            actor,
            "token.regenerate",
            record.id,
            owner=record.owner_name,
            grace=format_duration(grace_seconds),
            previous_valid_until=rfc3339(until),
        )
        return Regenerated(updated, token, until)

    @transactional
    def regenerate_org_token(
        self, org: Organization, record: OrgTokenRecord, actor: Actor, *, grace_seconds: int = 0
    ) -> RegeneratedOrgToken:
        """As regenerate() for an organization's token: the same id, label, resources and
        expiry with a new secret; the old one stops at once or when the grace period ends."""
        until = self._grace_until(record, grace_seconds)
        token, updated = self._replaced(
            TokenKind.ORGANIZATION,
            record,
            until,
            self._store.replace_org_token_secret,
            self._store.get_org_token,
            "no such organization access token",
        )
        self._audit.record(
            actor,
            "org_token.regenerate",
            record.id,
            org=org.name,
            grace=format_duration(grace_seconds),
            previous_valid_until=rfc3339(until),
        )
        return RegeneratedOrgToken(updated, token, until)

    def _replaced(
        self,
        kind: TokenKind,
        record: R,
        until: int | None,
        replace: Callable[..., bool],
        reread: Callable[[str], R | None],
        missing: str,
    ) -> tuple[AccessToken, R]:
        """A new secret under the token's public id, stored in place of the one `record` holds
        (the old one kept `until`), and the token as it is now; 404 if it is gone, 409 if its
        secret was replaced meanwhile (two regenerations at once: one wins, the other is told)."""
        token = AccessToken(kind, record.id, AccessToken.generate(kind).secret)
        if not replace(
            record.id,
            expected_hash=record.secret_hash,
            secret_hash=token.secret_hash(self._hmac_key),
            previous_until=until,
        ):
            if reread(record.id) is None:
                raise NotFoundInStore(missing)
            raise Conflict("the token was regenerated meanwhile: look at it again, then retry")
        updated = reread(record.id)
        if updated is None:  # pragma: no cover - deleted within our own transaction
            raise NotFoundInStore(missing)
        return token, updated

    def _grace_until(self, record: TokenRecord | OrgTokenRecord, grace_seconds: int) -> int | None:
        """Until when the old secret is accepted (None: not at all); 400 for a grace period
        out of bounds, 409 for an expired token or a grace period for a leaked secret."""
        if not 0 <= grace_seconds <= MAX_GRACE_SECONDS:
            raise BadRequest(
                f"grace period must be between 0 and {format_duration(MAX_GRACE_SECONDS)}"
            )
        now = int(self._clock())
        if record.expired(now):
            raise Conflict("the token has expired: create a new one")
        if grace_seconds and revoked_as_leaked(record):
            # The old secret is the leaked one: a grace period would let it work again.
            raise Conflict("the token's secret was revoked as leaked: it gets no grace period")
        return now + grace_seconds if grace_seconds else None
