"""What the organization pages show, shaped once from the services' records."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain.models import (
    PULL,
    PUSH,
    OrgRole,
    OrgTokenRecord,
    TeamPermission,
    token_state,
)
from regauth.domain.text import escape
from regauth.web.views import STATE_LABELS, expiring_soon, last_used_origin, when

ROLE_LABELS = {OrgRole.OWNER: "Owner", OrgRole.MEMBER: "Member"}
PERMISSION_LABELS = {
    TeamPermission.READ: "Read (pull)",
    TeamPermission.WRITE: "Read & Write (pull, push)",
    TeamPermission.ADMIN: "Admin (every action)",
}
ACTION_LABELS = {PULL: "Pull", PUSH: "Push"}


def actions_label(actions: frozenset[str]) -> str:
    return ", ".join(ACTION_LABELS.get(a, a) for a in sorted(actions, key=_action_order))


def _action_order(action: str) -> tuple[int, str]:
    return (0 if action == PULL else 1 if action == PUSH else 2, action)


@dataclass(frozen=True, slots=True)
class OrgTokenRow:
    id: str
    label: str
    description: str
    repositories: tuple[tuple[str, str], ...]  # (path, "Pull, Push")
    public_read: bool
    status: str
    active: bool
    created: str
    created_by: str
    last_used: str
    last_used_origin: str | None
    expires: str
    expiring_soon: bool
    allow_from: tuple[str, ...]  # () if it may be used from anywhere

    @classmethod
    def of(cls, record: OrgTokenRecord, now: float) -> OrgTokenRow:
        state = token_state(record, now)
        return cls(
            id=record.id,
            label=escape(record.label),
            description=escape(record.description),
            repositories=tuple(
                (path, actions_label(actions)) for path, actions in sorted(record.resources)
            ),
            public_read=record.public_read,
            status=STATE_LABELS[state],
            active=record.active,
            created=when(record.created_at),
            created_by=record.created_by,
            last_used=when(record.last_used_at),
            last_used_origin=last_used_origin(
                record.last_used_at, record.last_used_ip, record.last_used_user_agent
            ),
            expires=when(record.expires_at),
            expiring_soon=expiring_soon(state, record.expires_at, now),
            allow_from=tuple(map(str, record.allow_from or ())),
        )
