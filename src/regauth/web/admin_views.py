"""What the administration pages show, shaped once from the services' records."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain.hygiene import Notification, NotificationState
from regauth.domain.models import AuditEvent, Repository, TokenRecord, User, Visibility
from regauth.domain.text import escape
from regauth.web.views import TokenRow, when


@dataclass(frozen=True, slots=True)
class UserRow:
    name: str
    admin: bool
    disabled: bool
    two_factor: bool
    has_password: bool
    created: str

    @classmethod
    def of(cls, user: User) -> UserRow:
        return cls(
            name=user.name,
            admin=user.is_admin,
            disabled=user.disabled,
            two_factor=user.totp_enabled,
            has_password=user.password_hash is not None,
            created=when(user.created_at),
        )


@dataclass(frozen=True, slots=True)
class AdminTokenRow:
    """A personal access token of any user: by its public id (the admin API's handle)."""

    id: str
    owner: str
    token: TokenRow

    @classmethod
    def of(cls, record: TokenRecord, now: float) -> AdminTokenRow:
        return cls(id=record.id, owner=record.owner_name, token=TokenRow.of(record, now))


@dataclass(frozen=True, slots=True)
class RepositoryRow:
    name: str
    public: bool
    since: str

    @classmethod
    def of(cls, repository: Repository) -> RepositoryRow:
        return cls(
            name=repository.name,
            public=repository.visibility is Visibility.PUBLIC,
            since=when(repository.created_at),
        )


@dataclass(frozen=True, slots=True)
class AuditRow:
    at: str
    actor: str
    actor_kind: str
    action: str
    target: str
    origin: str
    details: str
    count: int

    @classmethod
    def of(cls, event: AuditEvent) -> AuditRow:
        details = event.details or {}
        return cls(
            at=when(event.at),
            actor=event.actor,
            actor_kind=event.actor_kind,
            action=event.action,
            target=escape(event.target or ""),
            origin=escape(" ".join(p for p in (event.ip or "", event.user_agent or "") if p)),
            details=escape(", ".join(f"{key}={value}" for key, value in sorted(details.items()))),
            count=event.count,
        )


@dataclass(frozen=True, slots=True)
class NotificationRow:
    id: str
    event: str
    state: str
    token: str  # the token it is about: kind, public id, owner (never a secret)
    created: str
    attempts: int
    outcome: str  # when it was delivered or given up, or when it is tried next
    last_error: str
    retryable: bool

    @classmethod
    def of(cls, n: Notification) -> NotificationRow:
        token = n.subject
        if n.state is NotificationState.DELIVERED:
            outcome = f"delivered {when(n.delivered_at)}"
        elif n.state is NotificationState.FAILED:
            outcome = f"given up {when(n.failed_at)}"
        else:
            outcome = f"next attempt {when(n.next_attempt_at)}"
        status = f"HTTP {n.last_status}" if n.last_status else ""
        return cls(
            id=n.id,
            event=n.event,
            state=n.state.value,
            token=" ".join(str(token.get(k) or "") for k in ("kind", "id", "owner")).strip(),
            created=when(n.created_at),
            attempts=n.attempts,
            outcome=outcome,
            last_error=n.last_error or status,
            retryable=n.state is not NotificationState.DELIVERED,
        )
