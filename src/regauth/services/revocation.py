"""Leaked-credential revocation (after GitHub's credential revocation API): anyone may report."""

from __future__ import annotations

import dataclasses

from regauth.domain.hygiene import CREDENTIAL_LEAKED_REVOKED, Credential
from regauth.domain.models import Actor, revoked_as_leaked
from regauth.domain.tokens import TokenKind, parse_token, secret_matches
from regauth.errors import MalformedToken, TooManyRequests
from regauth.services.admin_keys import AdminKeyService
from regauth.services.audit import AuditLog
from regauth.services.notifications import Notifier
from regauth.services.rate_limit import RateLimit
from regauth.services.rotation import Rotated
from regauth.services.transactions import transactional
from regauth.store.base import Store

MAX_CREDENTIALS = 1000
REVOCATION_ACTOR = Actor(name="revocation-api", kind="revocation")
TOO_MANY = "too many revocation requests"


class RevocationService:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        admin_keys: AdminKeyService,
        *,
        hmac_key: bytes,
        limit: RateLimit,
        notifier: Notifier | None = None,
    ) -> None:
        self._store = store
        self._notifier = notifier
        self._audit = audit
        self._admin_keys = admin_keys
        self._hmac_key = hmac_key
        # Calls per client address (`revocations_per_minute`), shared by the machine's workers.
        self._limit = limit

    @transactional
    def revoke(self, raw_credentials: list[str], reporter: Actor) -> int:
        """Deactivate every valid credential among those reported, its secret recorded so that
        it never works again (domain: revoked_as_leaked); return how many (for logs only:
        the caller must not tell the reporter, or the endpoint becomes a validity oracle).

        Anyone may call, and a call may check a thousand secrets: each counts against the
        reporter's address before any is looked at (429 past the allowance)."""
        wait = self._limit.take(f"{reporter.ip}")
        if wait:
            raise TooManyRequests(TOO_MANY, retry_after=wait)
        revoked = 0
        actor = Actor(
            name=REVOCATION_ACTOR.name,
            kind=REVOCATION_ACTOR.kind,
            ip=reporter.ip,
            user_agent=reporter.user_agent,
        )
        for raw in dict.fromkeys(raw_credentials[:MAX_CREDENTIALS]):
            try:
                token = parse_token(raw)
            except MalformedToken:
                continue
            if token.kind is TokenKind.ADMIN_KEY:
                key = self._store.get_admin_key(token.public_id)
                if (
                    key
                    and key.revoked_at is None
                    and secret_matches(self._hmac_key, token.secret, key.secret_hash)
                ):
                    self._admin_keys.revoke(key.id, actor)
                    self._notify(Credential.of_admin_key(key))
                    revoked += 1
                continue
            if token.kind is TokenKind.ORGANIZATION:
                org_token = self._store.get_org_token(token.public_id)
                if org_token is None:
                    continue
                if not revoked_as_leaked(org_token) and secret_matches(
                    self._hmac_key, token.secret, org_token.secret_hash
                ):
                    self._store.update_org_token(
                        org_token.id, active=False, leaked_secret_hash=org_token.secret_hash
                    )
                    self._audit.record(
                        actor, "org_token.revoked_leaked", org_token.id, org=org_token.org
                    )
                    self._notify(Credential.of_org_token(org_token))
                    revoked += 1
                elif self._previous_matches(token.secret, org_token):
                    self._store.end_previous_org_secret(org_token.id)
                    self._audit.record(
                        actor,
                        "org_token.revoked_leaked",
                        org_token.id,
                        org=org_token.org,
                        secret="previous",
                    )
                    self._notify(Credential.of_org_token(org_token), previous=True)
                    revoked += 1
                continue
            record = self._store.get_token(token.public_id)
            if record is None:
                continue
            # An inactive token's secret is recorded too (its owner could activate it again);
            # one already revoked as leaked is not counted again.
            if not revoked_as_leaked(record) and secret_matches(
                self._hmac_key, token.secret, record.secret_hash
            ):
                # Deactivated, and the secret remembered: activation is refused until the
                # token is regenerated (domain: revoked_as_leaked).
                self._store.update_token(
                    record.id, active=False, leaked_secret_hash=record.secret_hash
                )
                self._audit.record(
                    actor, "token.revoked_leaked", record.id, owner=record.owner_name
                )
                self._notify(Credential.of_token(record))
                revoked += 1
            elif self._previous_matches(token.secret, self._store.find_token_for_auth(record.id)):
                self._store.end_previous_secret(record.id)
                self._audit.record(
                    actor,
                    "token.revoked_leaked",
                    record.id,
                    owner=record.owner_name,
                    secret="previous",
                )
                self._notify(Credential.of_token(record), previous=True)
                revoked += 1
        return revoked

    def _previous_matches(self, secret: str, record: Rotated | None) -> bool:
        """The old secret of a regenerated token, kept for its grace period: reported leaked,
        it stops at once, and the token keeps working with its new secret (nobody has seen it)."""
        return (
            record is not None
            and record.previous_secret_hash is not None
            and secret_matches(self._hmac_key, secret, record.previous_secret_hash)
        )

    def _notify(self, credential: Credential, *, previous: bool = False) -> None:
        """The webhook hears of each revocation, in its transaction: the owner should know
        that a secret of theirs was found somewhere, and that it no longer works (a token's
        old secret: the token, with its new one, still does)."""
        if self._notifier is None:
            return
        if previous:
            self._notifier.notify(CREDENTIAL_LEAKED_REVOKED, credential, secret="previous")
        else:
            inactive = dataclasses.replace(credential, active=False)
            self._notifier.notify(CREDENTIAL_LEAKED_REVOKED, inactive)
