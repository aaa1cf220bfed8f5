"""Leaked-credential revocation (after GitHub's credential revocation API): anyone may report."""

from __future__ import annotations

import dataclasses
import functools
from collections.abc import Callable
from dataclasses import dataclass

from regauth.domain.hygiene import CREDENTIAL_LEAKED_REVOKED, Credential
from regauth.domain.models import Actor, OrgTokenRecord, TokenRecord, revoked_as_leaked
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


@dataclass(frozen=True, slots=True)
class _Kind:
    """What differs between revoking a personal and an organization token."""

    action: str  # the audit event
    details: dict[str, str]
    credential: Credential  # what the webhook is told about
    update: Callable[..., object]  # the store's update of the token (active, leaked hash)
    end_previous: Callable[[str], None]  # the store's end of an old secret's grace period
    secrets: Callable[[], Rotated | None]  # the token's secrets, its old one included


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
                if org_token is not None:
                    revoked += self._revoke_token(
                        token.secret,
                        org_token,
                        _Kind(
                            "org_token.revoked_leaked",
                            {"org": org_token.org},
                            Credential.of_org_token(org_token),
                            self._store.update_org_token,
                            self._store.end_previous_org_secret,
                            functools.partial(_as_read, org_token),
                        ),
                        actor,
                    )
                continue
            record = self._store.get_token(token.public_id)
            if record is not None:
                revoked += self._revoke_token(
                    token.secret,
                    record,
                    _Kind(
                        "token.revoked_leaked",
                        {"owner": record.owner_name},
                        Credential.of_token(record),
                        self._store.update_token,
                        self._store.end_previous_secret,
                        # A regenerated one's old secret is in the record /token reads.
                        functools.partial(self._store.find_token_for_auth, record.id),
                    ),
                    actor,
                )
        return revoked

    def _revoke_token(
        self,
        secret: str,
        record: TokenRecord | OrgTokenRecord,
        kind: _Kind,
        actor: Actor,
    ) -> int:
        """A personal, session or organization token whose secret was reported: 1 if that
        revoked something. Its current secret: the token is deactivated and the secret
        recorded, so that it is not activated again until regenerated (an inactive token's
        too: its owner could activate it; one revoked already is not counted again). A
        regenerated token's old secret, within its grace period: that secret stops at once, and
        the token keeps working with its new one, which nobody has seen."""
        if not revoked_as_leaked(record) and secret_matches(
            self._hmac_key, secret, record.secret_hash
        ):
            kind.update(record.id, active=False, leaked_secret_hash=record.secret_hash)
            self._audit.record(actor, kind.action, record.id, **kind.details)
            self._notify(kind.credential)
            return 1
        rotated = kind.secrets()  # read only when the current secret did not match
        if (
            rotated is not None
            and rotated.previous_secret_hash is not None
            and secret_matches(self._hmac_key, secret, rotated.previous_secret_hash)
        ):
            kind.end_previous(record.id)
            self._audit.record(actor, kind.action, record.id, **kind.details, secret="previous")
            self._notify(kind.credential, previous=True)
            return 1
        return 0

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


def _as_read(record: OrgTokenRecord) -> Rotated:
    """An organization token's record holds its old secret already: nothing more to read."""
    return record
