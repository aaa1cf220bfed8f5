"""How records look outside: JSON-ready dicts shared by the HTTP API and the CLI's --json."""

from __future__ import annotations

from typing import Any

from regauth.models import AdminKey, AuditEvent, Repository, TokenRecord, User, token_state
from regauth.services.explain import Explanation
from regauth.timefmt import rfc3339


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
