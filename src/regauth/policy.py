"""Authorization rules: what a principal is granted of what it asked, and why the rest was not."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from regauth.models import PULL, REPOSITORY_ACTIONS, AccessLevel, Principal
from regauth.scopes import Scope, is_repository_name

REPOSITORY = "repository"
REGISTRY = "registry"
CATALOG = "catalog"
WILDCARD = "*"


@dataclass(frozen=True, slots=True)
class Grant:
    type: str
    name: str
    actions: tuple[str, ...]
    # Why each action was granted, for logs and the admin explain view.
    reasons: tuple[str, ...] = ()

    def claim(self) -> dict[str, Any]:
        """The JWT `access` entry: bare type (never `repository(plugin)`), sorted actions."""
        return {"type": self.type, "name": self.name, "actions": list(self.actions)}

    def scope_string(self) -> str:
        return f"{self.type}:{self.name}:{','.join(self.actions)}"


@dataclass(frozen=True, slots=True)
class Denial:
    type: str
    name: str
    action: str
    reason: str


@dataclass(frozen=True, slots=True)
class Decision:
    granted: tuple[Grant, ...]
    denied: tuple[Denial, ...]

    def claims(self) -> list[dict[str, Any]]:
        return [g.claim() for g in self.granted]

    def scope_string(self) -> str:
        return " ".join(g.scope_string() for g in self.granted)


def namespace_of(repository: str) -> str | None:
    """The first path component owns the repository; a one-component name has no owner."""
    head, sep, _ = repository.partition("/")
    return head if sep else None


def repositories_needing_visibility(principal: Principal, scopes: Iterable[Scope]) -> list[str]:
    """Names whose public/private state can change the decision (so the caller looks them up)."""
    return [
        s.name
        for s in scopes
        if s.type == REPOSITORY
        and is_repository_name(s.name)
        and (principal.anonymous or namespace_of(s.name) != principal.name)
    ]


def decide(
    principal: Principal, scopes: Sequence[Scope], public_repositories: frozenset[str]
) -> Decision:
    """Intersect what was asked with what is allowed, per resource; never raises."""
    granted: list[Grant] = []
    denied: list[Denial] = []
    for scope in scopes:
        if scope.type == REPOSITORY:
            grant, denials = _repository(principal, scope, scope.name in public_repositories)
        elif scope.type == REGISTRY and scope.name == CATALOG:
            grant, denials = _catalog(principal, scope)
        else:
            grant = None
            denials = [_deny(scope, a, "unknown resource type") for a in sorted(scope.actions)]
        if grant is not None:
            granted.append(grant)
        denied.extend(denials)
    return Decision(tuple(granted), tuple(denied))


def _repository(
    principal: Principal, scope: Scope, public: bool
) -> tuple[Grant | None, list[Denial]]:
    wanted = REPOSITORY_ACTIONS if WILDCARD in scope.actions else scope.actions
    denials = [_deny(scope, a, "unknown action") for a in sorted(wanted - REPOSITORY_ACTIONS)]
    wanted = wanted & REPOSITORY_ACTIONS
    if not is_repository_name(scope.name):
        reason = "not a repository path this registry serves"
        return None, denials + [_deny(scope, a, reason) for a in sorted(wanted)]

    allowed: dict[str, str] = {}
    owner = not principal.anonymous and namespace_of(scope.name) == principal.name
    if owner:
        allowed = {a: f"owner of namespace {principal.name!r}" for a in REPOSITORY_ACTIONS}
    elif public:
        allowed = {PULL: "repository is public"}

    cap = principal.access
    granted: list[str] = []
    reasons: list[str] = []
    for action in sorted(wanted):
        if action not in allowed:
            denials.append(_deny(scope, action, _refusal(principal, scope, action, public)))
        elif cap is not None and action not in cap.actions:
            denials.append(_deny(scope, action, f"token access level {cap.value!r} excludes it"))
        elif cap is AccessLevel.PUBLIC_READ and not public:
            denials.append(
                _deny(
                    scope,
                    action,
                    "token access level 'public-read' reaches public repositories only",
                )
            )
        else:
            granted.append(action)
            reasons.append(f"{action}: {allowed[action]}")
    if not granted:
        return None, denials
    return Grant(REPOSITORY, scope.name, tuple(granted), tuple(reasons)), denials


def _refusal(principal: Principal, scope: Scope, action: str, public: bool) -> str:
    if principal.anonymous:
        return "anonymous access is limited to pulling public repositories"
    if public:
        return f"repository is public, but {action} is for the owner of its namespace"
    return f"not the owner of namespace {namespace_of(scope.name)!r} and the repository is private"


def _catalog(principal: Principal, scope: Scope) -> tuple[Grant | None, list[Denial]]:
    # distribution checks the literal action "*" on registry:catalog.
    if WILDCARD not in scope.actions:
        reason = "the registry only checks registry:catalog:*"
        return None, [_deny(scope, a, reason) for a in sorted(scope.actions)]
    if not principal.is_admin:
        return None, [
            _deny(scope, a, "only administrators may list the catalog")
            for a in sorted(scope.actions)
        ]
    if principal.access is AccessLevel.PUBLIC_READ:
        return None, [
            _deny(scope, a, "token access level 'public-read' excludes the catalog")
            for a in sorted(scope.actions)
        ]
    return Grant(REGISTRY, CATALOG, (WILDCARD,), ("*: administrator",)), []


def _deny(scope: Scope, action: str, reason: str) -> Denial:
    return Denial(scope.type, scope.name, action, reason)
