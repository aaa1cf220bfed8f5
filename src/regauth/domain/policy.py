"""Authorization rules: what a principal is granted of what it asked, and why the rest was not."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from regauth.domain.models import (
    PULL,
    REPOSITORY_ACTIONS,
    AccessLevel,
    OrgMembership,
    OrgRole,
    Principal,
)
from regauth.domain.redaction import quoted
from regauth.domain.scopes import MAX_NAME_LENGTH, Scope, is_repository_name
from regauth.errors import BadRequest

REPOSITORY = "repository"
REGISTRY = "registry"
CATALOG = "catalog"
WILDCARD = "*"
# The repositories an organization token or a fine-grained personal access token may list.
MAX_LISTED = 50


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
    """Names whose public/private state can change the decision (so the caller looks them up).

    A person's own repositories are theirs whatever their visibility: no lookup, except for a
    public-read token, which reaches public repositories only, its owner's included."""
    own = "" if principal.access is AccessLevel.PUBLIC_READ else _own_prefix(principal)
    return [
        s.name
        for s in scopes
        if s.type == REPOSITORY
        and not (own and s.name.startswith(own))
        and is_repository_name(s.name)
        and _reaches(principal, s.name)
    ]


def namespaces_needing_membership(principal: Principal, scopes: Iterable[Scope]) -> list[str]:
    """Namespaces that may be organizations the principal belongs to (so the caller looks them up)."""
    own = _own_prefix(principal)
    if not own:
        return []
    names = {
        namespace_of(s.name)
        for s in scopes
        if s.type == REPOSITORY
        and not s.name.startswith(own)
        and is_repository_name(s.name)
        and _reaches(principal, s.name)
    }
    return sorted(n for n in names if n is not None)


def _own_prefix(principal: Principal) -> str:
    """`name/` for a person, whose own repositories need no lookup at all; '' otherwise."""
    if principal.anonymous or principal.is_org_token:
        return ""
    return principal.name + "/"


def decide(
    principal: Principal,
    scopes: Sequence[Scope],
    public_repositories: frozenset[str],
    orgs: Mapping[str, OrgMembership] | None = None,
) -> Decision:
    """Intersect what was asked with what is allowed, per resource; never raises.

    `orgs` holds, for each requested namespace that is an organization, the principal's
    role and team rules there (role None: not a member).
    """
    granted: list[Grant] = []
    denied: list[Denial] = []
    for scope in scopes:
        if scope.type == REPOSITORY:
            grant, denials = _repository(
                principal, scope, scope.name in public_repositories, orgs or {}
            )
        elif scope.type == REGISTRY and scope.name == CATALOG:
            grant, denials = _catalog(principal, scope)
        else:
            grant = None
            denials = [_deny(scope, a, "unknown resource type") for a in sorted(scope.actions)]
        if grant is not None:
            granted.append(grant)
        denied.extend(denials)
    return Decision(tuple(granted), tuple(denied))


def pattern_matches(pattern: str, relative: str) -> bool:
    """A team rule's pattern inside its organization: a name, `prefix/*` (any depth) or `*`;
    a fine-grained token's pattern, the same on whole names (`acme/ci/*`)."""
    if pattern == "*":
        return True
    if pattern.endswith("/*"):
        return relative.startswith(pattern[:-1])
    return relative == pattern


def parse_repository_list(entries: Iterable[str]) -> tuple[str, ...]:
    """A fine-grained token's list as its creator gave it: repository names and
    `namespace/prefix/*` patterns (`acme/*`: the whole namespace), in their order without
    repeats; 400 for anything else, naming the entry."""
    listed: dict[str, None] = {}
    for raw in entries:
        entry = raw.strip()
        name = entry.removesuffix("/*")
        if (
            len(entry) > MAX_NAME_LENGTH
            or not is_repository_name(name)
            or (name == entry and namespace_of(name) is None)
        ):
            raise BadRequest(
                f"{quoted(entry)} is neither a repository (namespace/name) nor a pattern "
                "namespace/prefix/*"
            )
        listed[entry] = None
    if not listed:
        raise BadRequest("the token lists no repository: give at least one, or no list at all")
    if len(listed) > MAX_LISTED:
        raise BadRequest(f"a token lists at most {MAX_LISTED} repositories")
    return tuple(listed)


def listing(patterns: Sequence[str], name: str) -> str | None:
    """The first of a token's names and patterns that covers `name`; None if none does."""
    return next((p for p in patterns if pattern_matches(p, name)), None)


def _reaches(principal: Principal, name: str) -> bool:
    """False only for a fine-grained token that does not list the repository."""
    return principal.repositories is None or listing(principal.repositories, name) is not None


def _allowed(
    principal: Principal, name: str, public: bool, orgs: Mapping[str, OrgMembership]
) -> dict[str, str]:
    """Each action the principal may take on the repository, with the rule that allows it."""
    allowed: dict[str, str] = {}
    if principal.org_token_resources is not None:
        for path, actions in principal.org_token_resources:
            if path == name:
                allowed = {a: f"organization token lists {path}" for a in actions}
        if public and principal.public_read:
            allowed.setdefault(PULL, "organization token reads public repositories")
        return allowed
    if principal.repositories is not None:
        # The intersection rule: what the owner may do, on the repositories the token lists.
        pattern = listing(principal.repositories, name)
        if pattern is None:
            return {}
        listed = f" (the token lists {pattern!r})"
        owner = _owner_allowed(principal, name, public, orgs)
        return {action: rule + listed for action, rule in owner.items()}
    return _owner_allowed(principal, name, public, orgs)


def _owner_allowed(
    principal: Principal, name: str, public: bool, orgs: Mapping[str, OrgMembership]
) -> dict[str, str]:
    """What the person behind the principal may do on the repository, with the rule."""
    allowed: dict[str, str] = {}
    namespace = namespace_of(name)
    if not principal.anonymous and namespace == principal.name:
        return dict.fromkeys(REPOSITORY_ACTIONS, f"owner of namespace {principal.name!r}")
    membership = orgs.get(namespace or "")
    if membership is not None and membership.role is OrgRole.OWNER:
        return dict.fromkeys(REPOSITORY_ACTIONS, f"owner of organization {membership.org!r}")
    if membership is not None and membership.role is OrgRole.MEMBER:
        relative = name[len(membership.org) + 1 :]
        for rule in membership.rules:
            if pattern_matches(rule.pattern, relative):
                for action in sorted(rule.permission.actions):
                    allowed.setdefault(
                        action,
                        f"team {rule.team!r} has {rule.permission.value} on {rule.pattern!r}",
                    )
    if public:
        allowed.setdefault(PULL, "repository is public")
    return allowed


def _repository(
    principal: Principal, scope: Scope, public: bool, orgs: Mapping[str, OrgMembership]
) -> tuple[Grant | None, list[Denial]]:
    wanted = REPOSITORY_ACTIONS if WILDCARD in scope.actions else scope.actions
    unknown = wanted - REPOSITORY_ACTIONS
    denials = [_deny(scope, a, "unknown action") for a in sorted(unknown)] if unknown else []
    if unknown:
        wanted = wanted & REPOSITORY_ACTIONS
    if not is_repository_name(scope.name):
        reason = "not a repository path this registry serves"
        return None, denials + [_deny(scope, a, reason) for a in sorted(wanted)]

    allowed = _allowed(principal, scope.name, public, orgs)
    cap = principal.access
    granted: list[str] = []
    reasons: list[str] = []
    for action in sorted(wanted):
        rule = allowed.get(action)
        if rule is None:
            reason = _refusal(principal, scope, action, public, orgs)
        elif cap is not None and action not in cap.actions:
            reason = f"token access level {cap.value!r} excludes it"
        elif cap is AccessLevel.PUBLIC_READ and not public:
            reason = "token access level 'public-read' reaches public repositories only"
        else:
            granted.append(action)
            reasons.append(f"{action}: {rule}")
            continue
        denials.append(_deny(scope, action, reason))
    if not granted:
        return None, denials
    return Grant(REPOSITORY, scope.name, tuple(granted), tuple(reasons)), denials


def _refusal(
    principal: Principal,
    scope: Scope,
    action: str,
    public: bool,
    orgs: Mapping[str, OrgMembership],
) -> str:
    namespace = namespace_of(scope.name)
    if principal.anonymous:
        return "anonymous access is limited to pulling public repositories"
    if principal.org_token_resources is not None:
        listed = any(path == scope.name for path, _ in principal.org_token_resources)
        if listed:
            return f"organization token does not allow {action} on {scope.name!r}"
        return f"organization token does not list {scope.name!r}"
    if not _reaches(principal, scope.name):
        return f"token does not list {scope.name!r}"
    membership = orgs.get(namespace or "")
    if membership is not None and membership.role is None:
        return f"not a member of organization {membership.org!r}" + (
            f" (the repository is public, {action} is not)" if public else ""
        )
    if membership is not None:
        return f"no team of yours in {membership.org!r} grants {action} on this repository"
    if public:
        return f"repository is public, but {action} is for the owner of its namespace"
    return f"not the owner of namespace {namespace!r} and the repository is private"


def _catalog(principal: Principal, scope: Scope) -> tuple[Grant | None, list[Denial]]:
    # distribution checks the literal action "*" on registry:catalog.
    if WILDCARD not in scope.actions:
        reason = "the registry only checks registry:catalog:*"
        return None, [_deny(scope, a, reason) for a in sorted(scope.actions)]
    if not principal.is_admin or principal.is_org_token:
        return None, [
            _deny(scope, a, "only administrators may list the catalog")
            for a in sorted(scope.actions)
        ]
    if principal.access is AccessLevel.PUBLIC_READ:
        return None, [
            _deny(scope, a, "token access level 'public-read' excludes the catalog")
            for a in sorted(scope.actions)
        ]
    if principal.repositories is not None:
        # The catalog names every repository: more than a token limited to some may see.
        return None, [
            _deny(scope, a, "a token that lists repositories may not list the catalog")
            for a in sorted(scope.actions)
        ]
    return Grant(REGISTRY, CATALOG, (WILDCARD,), ("*: administrator",)), []


def _deny(scope: Scope, action: str, reason: str) -> Denial:
    return Denial(scope.type, scope.name, action, reason)
