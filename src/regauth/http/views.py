"""How records look outside: JSON-ready dicts shared by the HTTP API and the CLI's --json."""

from __future__ import annotations

from typing import Any

from regauth.domain.models import (
    AdminKey,
    AuditEvent,
    OrgMember,
    OrgTokenRecord,
    Repository,
    Team,
    TokenRecord,
    User,
    token_state,
)
from regauth.domain.timefmt import rfc3339
from regauth.services.explain import Explanation


def token_view(record: TokenRecord, now: float) -> dict[str, Any]:
    """regauth's own token shape (admin API and CLI)."""
    return {
        "id": record.id,
        "uuid": record.uuid,
        "user": record.owner_name,
        "description": record.description,
        "access": record.access.value,
        "generated_by": record.generated_by,
        "state": token_state(record, now).value,
        "created_at": rfc3339(record.created_at),
        "created_ip": record.created_ip,
        "created_user_agent": record.created_user_agent,
        "last_used_at": rfc3339(record.last_used_at),
        "last_used_ip": record.last_used_ip,
        "last_used_user_agent": record.last_used_user_agent,
        "expires_at": rfc3339(record.expires_at),
    }


def hub_token_view(record: TokenRecord, now: float, secret: str = "") -> dict[str, Any]:
    """Docker Hub's accessToken schema, then regauth's additions (which break none of it)."""
    return {
        "uuid": record.uuid,
        "client_id": "regauth",
        "creator_ip": record.created_ip or "",
        "creator_ua": record.created_user_agent or "",
        "created_at": rfc3339(record.created_at),
        "last_used": rfc3339(record.last_used_at),
        "generated_by": record.generated_by,
        "is_active": record.active,
        "token": secret,
        "token_label": record.description,
        "scopes": [record.access.hub_scope],
        # regauth additions
        "id": record.id,
        "expires_at": rfc3339(record.expires_at),
        "state": token_state(record, now).value,
        "last_used_ip": record.last_used_ip,
        "last_used_client": record.last_used_user_agent,
    }


def user_view(user: User) -> dict[str, Any]:
    return {
        "name": user.name,
        "admin": user.is_admin,
        "disabled": user.disabled,
        "has_password": user.password_hash is not None,
        "two_factor": user.totp_enabled,
        "created_at": rfc3339(user.created_at),
    }


def repository_view(repository: Repository) -> dict[str, Any]:
    return {
        "name": repository.name,
        "visibility": repository.visibility.value,
        "created_at": rfc3339(repository.created_at),
    }


def audit_view(event: AuditEvent) -> dict[str, Any]:
    return {
        "id": event.id,
        "at": rfc3339(event.at),
        "actor": event.actor,
        "actor_kind": event.actor_kind,
        "action": event.action,
        "target": event.target,
        "ip": event.ip,
        "user_agent": event.user_agent,
        "details": event.details or {},
        "count": event.count,
    }


def admin_key_view(key: AdminKey) -> dict[str, Any]:
    return {
        "id": key.id,
        "description": key.description,
        "created_at": rfc3339(key.created_at),
        "created_by": key.created_by,
        "revoked_at": rfc3339(key.revoked_at),
        "last_used_at": rfc3339(key.last_used_at),
        "last_used_ip": key.last_used_ip,
    }


def explanation_view(explanation: Explanation) -> dict[str, Any]:
    return {
        "subject": explanation.subject,
        "credential_refused": explanation.credential_refusal,
        "granted": [
            {"type": g.type, "name": g.name, "actions": list(g.actions), "reasons": list(g.reasons)}
            for g in explanation.decision.granted
        ],
        "denied": [
            {"type": d.type, "name": d.name, "action": d.action, "reason": d.reason}
            for d in explanation.decision.denied
        ],
        "rejected_scopes": [{"scope": r.raw, "reason": r.reason} for r in explanation.rejected],
    }


_HUB_ORG_SCOPES = {"pull": "scope-image-pull", "push": "scope-image-push"}
PUBLIC_REPOSITORIES_PATH = "*/*/public"


def org_token_view(record: OrgTokenRecord, now: float, secret: str | None = None) -> dict[str, Any]:
    """Docker Hub's orgAccessToken with its resources, then regauth's additions."""
    resources = [
        {
            "type": "TYPE_REPO",
            "path": path,
            "scopes": [_HUB_ORG_SCOPES[a] for a in sorted(actions) if a in _HUB_ORG_SCOPES],
        }
        for path, actions in record.resources
    ]
    if record.public_read:
        resources.append(
            {"type": "TYPE_REPO", "path": PUBLIC_REPOSITORIES_PATH, "scopes": ["scope-image-pull"]}
        )
    view: dict[str, Any] = {
        "id": record.uuid,
        "label": record.label,
        "description": record.description,
        "created_by": record.created_by,
        "is_active": record.active,
        "created_at": rfc3339(record.created_at),
        "expires_at": rfc3339(record.expires_at),
        "last_used_at": rfc3339(record.last_used_at),
        "resources": resources,
        # regauth additions
        "token_id": record.id,
        "org": record.org,
        "state": token_state(record, now).value,
        "last_used_ip": record.last_used_ip,
        "last_used_client": record.last_used_user_agent,
    }
    if secret is not None:
        view["token"] = secret
    return view


def org_member_view(member: OrgMember) -> dict[str, Any]:
    """Docker Hub's org_member (role capitalised as the Hub writes it)."""
    return {
        "id": str(member.user_id),
        "username": member.username,
        "role": member.role.value.capitalize(),
        "groups": list(member.teams),
        "type": "User",
    }


def team_view(team: Team) -> dict[str, Any]:
    """Docker Hub's org_group, plus the team's repository permissions."""
    return {
        "id": team.id,
        "name": team.name,
        "description": team.description,
        "member_count": len(team.members),
        "members": list(team.members),
        "permissions": [
            {"pattern": r.pattern, "permission": r.permission.value} for r in team.permissions
        ],
    }
