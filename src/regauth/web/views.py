"""What the pages show, shaped once from the services' records.

Text a client chose (user agents) or stored before descriptions were checked is shown with
what acts on the text around it escaped (`text.escape`: `\u202e` for a bidi override, which
HTML escaping leaves as it is and which would reverse the rest of a line), as the CLI shows it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime

from regauth.domain.models import AccessLevel, TokenRecord, TokenState, WebSession, token_state
from regauth.domain.text import escape

# Docker Hub's names for the levels, broadest first (the order of the form's choices).
LEVEL_LABELS = {
    AccessLevel.DELETE: "Read, Write & Delete",
    AccessLevel.WRITE: "Read & Write",
    AccessLevel.READ: "Read-only",
    AccessLevel.PUBLIC_READ: "Public Repo Read-only",
}
STATE_LABELS = {
    TokenState.ACTIVE: "Active",
    TokenState.INACTIVE: "Inactive",
    TokenState.EXPIRED: "Expired",
}
EXPIRY_CHOICES = (
    ("none", "None"),
    ("30", "30 days"),
    ("60", "60 days"),
    ("90", "90 days"),
    ("custom", "Custom"),
)
SOON_SECONDS = 7 * 86400


def when(epoch: int | None, never: str = "Never") -> str:
    if epoch is None:
        return never
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d %H:%M UTC")


def origin(ip: str | None, agent: str | None) -> str:
    """Where a use came from, for a detail line: "from 10.0.0.1 with docker/27.0"."""
    parts = [f"from {ip}" if ip else "", f"with {escape(agent)}" if agent else ""]
    return " ".join(p for p in parts if p) or "origin not recorded"


def last_used_origin(at: int | None, ip: str | None, agent: str | None) -> str | None:
    """Where a token was last used from; None if it never was."""
    return origin(ip, agent) if at is not None else None


def expiring_soon(state: TokenState, expires_at: int | None, now: float) -> bool:
    """An active token that expires within SOON_SECONDS: marked in the tables."""
    return (
        state is TokenState.ACTIVE and expires_at is not None and expires_at - now <= SOON_SECONDS
    )


@dataclass(frozen=True, slots=True)
class TokenRow:
    uuid: str
    description: str
    scope: str
    source: str
    status: str
    active: bool
    created: str
    created_origin: str
    last_used: str
    last_used_origin: str | None
    expires: str
    expiring_soon: bool
    # A fine-grained token's repositories and a network-bound one's networks; () if no list.
    repositories: tuple[str, ...]
    allow_from: tuple[str, ...]

    @classmethod
    def of(cls, record: TokenRecord, now: float) -> TokenRow:
        state = token_state(record, now)
        return cls(
            uuid=record.uuid,
            description=escape(record.description),
            scope=LEVEL_LABELS[record.access],
            source="Auto-generated" if record.generated_by == "auto" else "Manual",
            status=STATE_LABELS[state],
            active=record.active,
            created=when(record.created_at),
            created_origin=origin(record.created_ip, record.created_user_agent),
            last_used=when(record.last_used_at),
            last_used_origin=last_used_origin(
                record.last_used_at, record.last_used_ip, record.last_used_user_agent
            ),
            expires=when(record.expires_at),
            expiring_soon=expiring_soon(state, record.expires_at, now),
            repositories=record.repositories or (),
            allow_from=tuple(map(str, record.allow_from or ())),
        )


@dataclass(frozen=True, slots=True)
class BrowserRow:
    """A page session of the account's, on the security page ("Signed-in browsers")."""

    id: str
    current: bool
    read_only: bool
    created: str
    last_seen: str
    ip: str
    client: str

    @classmethod
    def of(cls, session: WebSession, current_id: str) -> BrowserRow:
        current = session.id == current_id
        return cls(
            id=session.id,
            current=current,
            read_only=session.read_only,
            created=when(session.created_at),
            # Written at most once a minute: this browser's is the request being answered.
            last_seen="Now" if current else when(session.last_seen_at),
            ip=session.created_ip or "not recorded",
            client=escape(session.user_agent) if session.user_agent else "not recorded",
        )


@dataclass(frozen=True, slots=True)
class Limits:
    """The account's token limits, as `AccessTokenService.limits_for` computes them."""

    active_tokens: int
    max_active_tokens: int
    token_creations_remaining: int
    token_creations_per_hour: int
    max_token_lifetime_days: int

    @classmethod
    def of(cls, limits: dict[str, int]) -> Limits:
        return cls(
            active_tokens=limits["active_tokens"],
            max_active_tokens=limits["max_active_tokens"],
            token_creations_remaining=limits["token_creations_remaining"],
            token_creations_per_hour=limits["token_creations_per_hour"],
            max_token_lifetime_days=limits["max_token_lifetime_days"],
        )
