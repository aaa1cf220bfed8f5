"""Credential hygiene's records: a token of any kind as the expiry and staleness policies see
it, the notifications they send, and the JSON those carry (never a secret, nor its hash)."""

from __future__ import annotations

import enum
import json
from dataclasses import dataclass
from typing import Any

from regauth.domain.models import AdminKey, OrgTokenRecord, TokenRecord
from regauth.domain.timefmt import rfc3339

TOKEN_EXPIRING = "token.expiring"
TOKEN_EXPIRED = "token.expired"
TOKEN_DEACTIVATED_STALE = "token.deactivated_stale"
CREDENTIAL_LEAKED_REVOKED = "credential.leaked_revoked"
EVENTS = (TOKEN_EXPIRING, TOKEN_EXPIRED, TOKEN_DEACTIVATED_STALE, CREDENTIAL_LEAKED_REVOKED)
# The payloads' shape; a change that is not an addition gets a new number.
PAYLOAD_VERSION = 1


class CredentialKind(enum.Enum):
    PERSONAL = "personal"  # a personal access token (rgp_)
    SESSION = "session"  # an auto-generated session token (rgs_)
    ORGANIZATION = "organization"  # an organization access token (rgo_)
    ADMIN_KEY = "admin_key"  # an admin API or SCIM key (rga_)


@dataclass(frozen=True, slots=True)
class Credential:
    """Any token, by what may be shown of it: its public id, never its secret."""

    kind: CredentialKind
    id: str
    uuid: str | None
    # The user who owns it, the organization, or for an admin key who made it.
    owner: str
    description: str
    active: bool
    created_at: int
    expires_at: int | None
    last_used_at: int | None

    @classmethod
    def of_token(cls, record: TokenRecord) -> Credential:
        manual = record.generated_by == "manual"
        return cls(
            kind=CredentialKind.PERSONAL if manual else CredentialKind.SESSION,
            id=record.id,
            uuid=record.uuid,
            owner=record.owner_name,
            description=record.description,
            active=record.active,
            created_at=record.created_at,
            expires_at=record.expires_at,
            last_used_at=record.last_used_at,
        )

    @classmethod
    def of_org_token(cls, record: OrgTokenRecord) -> Credential:
        return cls(
            kind=CredentialKind.ORGANIZATION,
            id=record.id,
            uuid=record.uuid,
            owner=record.org,
            description=record.label,
            active=record.active,
            created_at=record.created_at,
            expires_at=record.expires_at,
            last_used_at=record.last_used_at,
        )

    @classmethod
    def of_admin_key(cls, key: AdminKey) -> Credential:
        return cls(
            kind=CredentialKind.ADMIN_KEY,
            id=key.id,
            uuid=None,
            owner=key.created_by,
            description=key.description,
            active=key.revoked_at is None,
            created_at=key.created_at,
            expires_at=None,
            last_used_at=key.last_used_at,
        )

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at

    def subject(self) -> dict[str, Any]:
        return {
            "kind": self.kind.value,
            "id": self.id,
            "uuid": self.uuid,
            "owner": self.owner,
            "description": self.description,
            "active": self.active,
            "created_at": rfc3339(self.created_at),
            "expires_at": rfc3339(self.expires_at),
            "last_used_at": rfc3339(self.last_used_at),
        }


class NotificationState(enum.Enum):
    PENDING = "pending"  # not delivered yet: waiting for its first attempt or a retry
    DELIVERED = "delivered"  # the receiver answered 2xx
    FAILED = "failed"  # given up after `max_attempts`


@dataclass(frozen=True, slots=True)
class Notification:
    """One event for the webhook and how its delivery went."""

    id: str
    event: str
    dedup_key: str
    payload: str  # the JSON body, as sent
    created_at: int
    next_attempt_at: int
    attempts: int
    delivered_at: int | None
    failed_at: int | None
    last_status: int | None
    last_error: str | None

    @property
    def state(self) -> NotificationState:
        if self.delivered_at is not None:
            return NotificationState.DELIVERED
        if self.failed_at is not None:
            return NotificationState.FAILED
        return NotificationState.PENDING

    @property
    def subject(self) -> dict[str, Any]:
        token: dict[str, Any] = json.loads(self.payload).get("token") or {}
        return token


@dataclass(frozen=True, slots=True)
class NotificationQuery:
    state: NotificationState | None = None
    event: str | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Claimed:
    """A notification a process has claimed to send now (its attempt already counted)."""

    id: str
    event: str
    payload: str
    attempts: int


def payload(
    event: str, notification_id: str, at: int, credential: Credential, **details: Any
) -> str:
    """The body of a notification: what happened, when, to which credential."""
    body = {
        "version": PAYLOAD_VERSION,
        "id": notification_id,
        "event": event,
        "occurred_at": rfc3339(at),
        "token": credential.subject(),
        "details": details,
    }
    return json.dumps(body, sort_keys=True, separators=(",", ":"))
