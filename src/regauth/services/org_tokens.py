"""Organization access tokens: owned by the organization, limited to listed repositories."""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from dataclasses import dataclass

from regauth.config import LiveConfig, max_lifetime_days
from regauth.domain import policy
from regauth.domain.clock import Clock
from regauth.domain.models import (
    LEAKED,
    PULL,
    PUSH,
    Actor,
    Organization,
    OrgTokenRecord,
    revoked_as_leaked,
)
from regauth.domain.scopes import is_repository_name
from regauth.domain.tokens import AccessToken, TokenKind
from regauth.errors import BadRequest, Conflict, NotFoundInStore
from regauth.services.access_tokens import (
    allowed_networks,
    check_lifetime,
    lists_in_audit,
    validate_description,
    validate_note,
)
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Store

MAX_RESOURCES = policy.MAX_LISTED
ORG_TOKEN_ACTIONS = frozenset({PULL, PUSH})


@dataclass(frozen=True, slots=True)
class CreatedOrgToken:
    record: OrgTokenRecord
    token: AccessToken


def validate_resources(
    org: Organization, resources: dict[str, frozenset[str]]
) -> dict[str, frozenset[str]]:
    if len(resources) > MAX_RESOURCES:
        raise BadRequest(f"an organization token lists at most {MAX_RESOURCES} repositories")
    checked: dict[str, frozenset[str]] = {}
    for path, actions in resources.items():
        if not (is_repository_name(path) and path.startswith(f"{org.name}/")):
            raise BadRequest(f"{path!r} is not a repository of {org.name!r}")
        if not actions or not actions <= ORG_TOKEN_ACTIONS:
            raise BadRequest("repository actions must be pull and/or push")
        # The registry checks pull as well as push on every push.
        checked[path] = actions | {PULL}
    return checked


class OrgTokenService:
    def __init__(
        self, store: Store, audit: AuditLog, *, hmac_key: bytes, clock: Clock, settings: LiveConfig
    ) -> None:
        self._store = store
        self._audit = audit
        self._hmac_key = hmac_key
        self._clock = clock
        self._settings = settings

    @transactional
    def create(
        self,
        org: Organization,
        actor: Actor,
        *,
        label: str,
        description: str,
        resources: dict[str, frozenset[str]],
        public_read: bool,
        expires_at: int | None,
        allow_from: Sequence[str] | None = None,
    ) -> CreatedOrgToken:
        """`allow_from`: the networks it may be used from (None: anywhere), fixed at creation.
        The operator's longest lifetime (`[limits] max_expiry`, `[auth]
        max_token_lifetime_days`) holds for organization tokens as for personal ones."""
        now = int(self._clock())
        if expires_at is not None and expires_at <= now:
            raise BadRequest("expiration must be in the future")
        check_lifetime(expires_at, now, max_lifetime_days(self._settings.current))
        networks = allowed_networks(allow_from)
        self._store.lock_org(org.id)  # as for personal tokens: the cap holds under concurrency
        per_org = self._settings.current.limits.org_tokens_per_org
        if self._store.count_org_tokens(org.id) >= per_org:
            raise Conflict(f"organization token limit reached ({per_org})")
        token = AccessToken.generate(TokenKind.ORGANIZATION)
        record = self._store.create_org_token(
            token_id=token.public_id,
            uuid=str(uuid.uuid4()),
            org_id=org.id,
            label=validate_description(label),
            description=validate_note(description, "description"),
            secret_hash=token.secret_hash(self._hmac_key),
            public_read=public_read,
            resources=validate_resources(org, resources),
            created_by=actor.name,
            expires_at=expires_at,
            now=now,
            allow_from=networks,
        )
        self._audit.record(
            actor, "org_token.create", record.id, org=org.name, **lists_in_audit(None, networks)
        )
        return CreatedOrgToken(record, token)

    def for_org(self, org: Organization) -> list[OrgTokenRecord]:
        return self._store.list_org_tokens(org.id)

    def get(self, org: Organization, token_id: str) -> OrgTokenRecord:
        record = self._store.get_org_token(token_id)
        if record is None or record.org_id != org.id:
            raise NotFoundInStore("no such organization access token")
        return record

    @transactional
    def update(
        self,
        org: Organization,
        record: OrgTokenRecord,
        actor: Actor,
        *,
        label: str | None,
        active: bool | None,
        resources: dict[str, frozenset[str]] | None,
        public_read: bool | None,
        description: str | None = None,
    ) -> OrgTokenRecord:
        if active and revoked_as_leaked(record):
            raise Conflict(LEAKED)
        updated = self._store.update_org_token(
            record.id,
            label=validate_description(label) if label is not None else None,
            description=validate_note(description, "description")
            if description is not None
            else None,
            active=active,
            resources=validate_resources(org, resources) if resources is not None else None,
            public_read=public_read,
        )
        if updated is None:
            raise NotFoundInStore("no such organization access token")
        self._audit.record(actor, "org_token.update", record.id, org=org.name, active=active)
        return updated

    @transactional
    def delete(self, org: Organization, record: OrgTokenRecord, actor: Actor) -> None:
        if not self._store.delete_org_token(record.id):
            raise NotFoundInStore("no such organization access token")
        self._audit.record(actor, "org_token.delete", record.id, org=org.name)
