"""Personal access tokens: create (the secret is returned once), rename, (de)activate, delete, list."""

from __future__ import annotations

import enum
import uuid
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Literal

from regauth.config import LimitsConfig, LiveConfig, expiry_days, max_lifetime_days
from regauth.domain import policy, text
from regauth.domain.clock import Clock
from regauth.domain.models import (
    LEAKED,
    AccessLevel,
    Actor,
    TokenQuery,
    TokenRecord,
    TokenState,
    User,
    revoked_as_leaked,
    token_state,
)
from regauth.domain.networks import Network, parse_allow_from
from regauth.domain.timefmt import rfc3339
from regauth.domain.tokens import AccessToken, TokenKind
from regauth.errors import BadRequest, Conflict, NotFoundInStore, TooManyRequests
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Store

MAX_DESCRIPTION_LENGTH = 100


class Expiry(enum.Enum):
    # The creator gave none: the token gets `[limits] default_expiry`.
    DEFAULT = "default"


DEFAULT_EXPIRY: Literal[Expiry.DEFAULT] = Expiry.DEFAULT


@dataclass(frozen=True, slots=True)
class CreatedToken:
    record: TokenRecord
    # The only time the secret exists outside the client: never stored, never logged.
    token: AccessToken


@dataclass(frozen=True, slots=True)
class TokenPage:
    tokens: list[TokenRecord]
    count: int
    active_count: int


def allowed_networks(entries: Sequence[str] | None) -> tuple[Network, ...] | None:
    """A credential's `allow_from` as its creator gave it, checked; None: no list."""
    return None if entries is None else parse_allow_from(entries)


def networks_text(networks: tuple[Network, ...] | None) -> list[str] | None:
    """For the views: the networks as CIDRs."""
    return None if networks is None else [str(n) for n in networks]


def lists_in_audit(
    repositories: tuple[str, ...] | None, networks: tuple[Network, ...] | None
) -> dict[str, list[str]]:
    """A new credential's lists for its audit event: those it has, none of those it has not."""
    details: dict[str, list[str]] = {}
    if repositories is not None:
        details["repositories"] = list(repositories)
    if networks is not None:
        details["allow_from"] = [str(n) for n in networks]
    return details


def check_lifetime(expires_at: int | None, now: int, most_days: int) -> None:
    """400 unless a token expiring at `expires_at` (None: never) keeps to the operator's
    longest lifetime (`most_days`; 0: no limit)."""
    if most_days and (expires_at is None or expires_at > now + most_days * 86400):
        raise BadRequest(f"tokens must expire within {most_days} days (operator policy)")


def _adds_an_active_token(record: TokenRecord, now: int) -> bool:
    """Whether activating the token adds one to what max_active_tokens counts: a person's
    token, inactive and unexpired (a session token or an expired one is never counted)."""
    return record.generated_by == "manual" and not record.active and not record.expired(now)


def expiring(record: TokenRecord, now: float, within: int) -> bool:
    """Active, and expiring within `within` seconds: "expiring soon" (the web page's mark)."""
    return (
        token_state(record, now) is TokenState.ACTIVE
        and record.expires_at is not None
        and record.expires_at <= now + within
    )


def validate_description(description: str) -> str:
    description = description.strip()
    if not 1 <= len(description) <= MAX_DESCRIPTION_LENGTH:
        raise BadRequest(f"description must be 1-{MAX_DESCRIPTION_LENGTH} characters")
    if text.has_controls(description):
        # An administrator's terminal would act on them (domain/text.py).
        raise BadRequest(text.refused("description"))
    return description


def validate_note(note: str, what: str) -> str:
    """A longer free text (a team's or an organization token's description): at most 500
    characters, none that a terminal acts on (domain/text.py)."""
    if text.has_controls(note):
        raise BadRequest(text.refused(what))
    return note[:500]


class AccessTokenService:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        *,
        hmac_key: bytes,
        clock: Clock,
        settings: LiveConfig,
    ) -> None:
        self._store = store
        self._audit = audit
        self._hmac_key = hmac_key
        self._clock = clock
        self._settings = settings

    def _limits(self) -> LimitsConfig:
        return self._settings.current.limits

    def _max_lifetime(self) -> int:
        return max_lifetime_days(self._settings.current) * 86400

    def _default_expiry(self, now: int) -> int | None:
        days = expiry_days(self._limits().default_expiry)
        return now + days * 86400 if days else None

    @transactional
    def create(
        self,
        owner: User,
        actor: Actor,
        *,
        description: str,
        access: AccessLevel,
        expires_at: int | Literal[Expiry.DEFAULT] | None = DEFAULT_EXPIRY,
        repositories: Sequence[str] | None = None,
        allow_from: Sequence[str] | None = None,
    ) -> CreatedToken:
        """`expires_at` None: never; DEFAULT_EXPIRY: `[limits] default_expiry` (the API, the
        CLI and the web page pass it when their user chose none). `repositories` (names and
        `namespace/prefix/*` patterns) makes a fine-grained token, `allow_from` (networks) a
        network-bound one; None: no list. Both are fixed at creation, as the access level is."""
        description = validate_description(description)
        listed = None if repositories is None else policy.parse_repository_list(repositories)
        networks = allowed_networks(allow_from)
        if owner.disabled:
            raise Conflict(f"account {owner.name!r} is disabled")
        now = int(self._clock())
        if expires_at is DEFAULT_EXPIRY:
            expires_at = self._default_expiry(now)
        if expires_at is not None and expires_at <= now:
            raise BadRequest("expiration must be in the future")
        check_lifetime(expires_at, now, max_lifetime_days(self._settings.current))
        # Held to the end of the transaction: a concurrent creation for the same account, in
        # any worker or replica, waits here, so the limits below cannot both be passed.
        self._store.lock_user(owner.id)
        self._check_limits(owner, now)
        for _ in range(3):  # the public id is random; a collision is retried, not reported
            token = AccessToken.generate(TokenKind.PERSONAL)
            try:
                record = self._store.create_token(
                    token_id=token.public_id,
                    uuid=str(uuid.uuid4()),
                    owner_id=owner.id,
                    description=description,
                    access=access,
                    secret_hash=token.secret_hash(self._hmac_key),
                    expires_at=expires_at,
                    created_ip=actor.ip,
                    created_user_agent=actor.user_agent,
                    now=now,
                    repositories=listed,
                    allow_from=networks,
                )
            except Conflict:
                continue
            self._store.record_token_creation(owner.id, now=now)
            self._audit.record(
                actor,
                "token.create",
                record.id,
                owner=owner.name,
                access=access.value,
                expires_at=rfc3339(expires_at),
                **lists_in_audit(listed, networks),
            )
            return CreatedToken(record, token)
        raise Conflict("could not allocate a token id")  # pragma: no cover - 2**-59 odds

    @transactional
    def create_session_token(
        self, owner: User, *, client_id: str | None, ip: str | None, user_agent: str | None
    ) -> CreatedToken:
        """An auto-generated token for a password sign-in that asked for offline access.

        Full access (still capped by what the user may do), expiring with the session; the
        account keeps the newest few, so a sixth sign-in removes the oldest.
        """
        now = int(self._clock())
        token = AccessToken.generate(TokenKind.SESSION)
        record, evicted = self._store.create_auto_token(
            keep=self._limits().session_tokens_per_account,
            token_id=token.public_id,
            uuid=str(uuid.uuid4()),
            owner_id=owner.id,
            # client_id is the client's to choose: what a terminal acts on is kept escaped.
            description=f"auto-generated: {text.escape(client_id or 'client')} sign-in"[
                :MAX_DESCRIPTION_LENGTH
            ],
            access=AccessLevel.DELETE,
            secret_hash=token.secret_hash(self._hmac_key),
            expires_at=now + self._limits().session_token_days * 86400,
            created_ip=ip,
            created_user_agent=user_agent,
            now=now,
        )
        actor = Actor(name=owner.name, kind="user", ip=ip, user_agent=user_agent)
        self._audit.record(actor, "session_token.create", record.id, evicted=evicted or None)
        return CreatedToken(record, token)

    def limits_for(self, owner: User) -> dict[str, int]:
        now = int(self._clock())
        created, _ = self._store.count_token_creations(owner.id, since=now - 3600)
        limits = self._limits()
        return {
            "max_active_tokens": limits.max_active_tokens,
            "active_tokens": self._store.count_active_tokens(owner.id, now=now),
            "token_creations_per_hour": limits.token_creations_per_hour,
            "token_creations_remaining": max(0, limits.token_creations_per_hour - created),
            "max_token_lifetime_days": self._max_lifetime() // 86400,
        }

    def _check_limits(self, owner: User, now: int) -> None:
        limits = self._limits()
        created, oldest = self._store.count_token_creations(owner.id, since=now - 3600)
        if created >= limits.token_creations_per_hour:
            raise TooManyRequests(
                f"token creation limit reached ({limits.token_creations_per_hour} per hour)",
                retry_after=(oldest or now) + 3600 - now,
            )
        self._check_active_limit(owner.id, now)

    def _check_active_limit(self, owner_id: int, now: int) -> None:
        limit = self._limits().max_active_tokens
        if self._store.count_active_tokens(owner_id, now=now) >= limit:
            raise Conflict(
                f"active token limit reached ({limit}): deactivate or delete a token first"
            )

    def get(self, token_id: str) -> TokenRecord:
        record = self._store.get_token(token_id)
        if record is None:
            raise NotFoundInStore(f"no such token: {token_id!r}")
        return record

    def get_owned(self, owner: User, uuid_or_id: str) -> TokenRecord:
        """A user's own token by UUID (Docker Hub's handle) or id; another user's is a 404."""
        record = self._store.get_token_by_uuid(uuid_or_id) or self._store.get_token(uuid_or_id)
        if record is None or record.owner_id != owner.id:
            raise NotFoundInStore("no such access token")
        return record

    def list_for(self, owner: User) -> list[TokenRecord]:
        return self._store.list_tokens(owner.id)

    def page_for(
        self, owner: User, *, page: int, page_size: int, expiring_within: int | None = None
    ) -> TokenPage:
        """`expiring_within` (seconds): only active tokens expiring that soon."""
        records = self._store.list_tokens(owner.id)
        now = self._clock()
        if expiring_within is not None:
            records = [r for r in records if expiring(r, now, expiring_within)]
        active = sum(1 for r in records if token_state(r, now) is TokenState.ACTIVE)
        start = (page - 1) * page_size
        return TokenPage(records[start : start + page_size], len(records), active)

    def search(self, query: TokenQuery) -> list[TokenRecord]:
        return self._store.search_tokens(query, now=int(self._clock()))

    @transactional
    def rename(self, record: TokenRecord, actor: Actor, description: str) -> TokenRecord:
        description = validate_description(description)
        updated = self._store.update_token(record.id, description=description)
        self._audit.record(actor, "token.rename", record.id, owner=record.owner_name)
        return self._present(updated)

    @transactional
    def set_active(self, record: TokenRecord, actor: Actor, active: bool) -> TokenRecord:
        if active:
            # As create: the account is locked to the end of the transaction, so neither two
            # activations nor an activation and a creation at once pass max_active_tokens.
            self._store.lock_user(record.owner_id)
            record = self._present(self._store.get_token(record.id))
            if revoked_as_leaked(record):
                raise Conflict(LEAKED)
            now = int(self._clock())
            if _adds_an_active_token(record, now):
                self._check_active_limit(record.owner_id, now)
        updated = self._store.update_token(record.id, active=active)
        action = "token.activate" if active else "token.deactivate"
        self._audit.record(actor, action, record.id, owner=record.owner_name)
        return self._present(updated)

    @transactional
    def change(
        self,
        record: TokenRecord,
        actor: Actor,
        *,
        description: str | None = None,
        active: bool | None = None,
    ) -> TokenRecord:
        """A rename and/or (de)activation, as one PATCH asks them: both happen or neither (a
        refused activation leaves the new name unsaved too)."""
        if description is not None:
            record = self.rename(record, actor, description)
        if active is not None:
            record = self.set_active(record, actor, active)
        return record

    @transactional
    def delete(self, record: TokenRecord, actor: Actor) -> None:
        if not self._store.delete_token(record.id):
            raise NotFoundInStore("no such access token")
        self._audit.record(actor, "token.delete", record.id, owner=record.owner_name)

    @staticmethod
    def _present(record: TokenRecord | None) -> TokenRecord:
        if record is None:  # deleted by someone else in between
            raise NotFoundInStore("no such access token")
        return record
