"""Domain records shared by the services and the store."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import Any

from regauth.domain.networks import Network

PULL, PUSH, DELETE = "pull", "push", "delete"
REPOSITORY_ACTIONS = frozenset({PULL, PUSH, DELETE})


class AccessLevel(enum.Enum):
    """What a personal access token may do at most (Docker Hub's four levels)."""

    PUBLIC_READ = "public-read"
    READ = "read"
    WRITE = "write"
    DELETE = "delete"

    @property
    def actions(self) -> frozenset[str]:
        return _LEVEL_ACTIONS[self._value_]  # by value: a str hash is cached, an Enum's is not

    @property
    def hub_scope(self) -> str:
        """Docker Hub's name for the level in its access-token API."""
        return _HUB_SCOPES[self]

    @classmethod
    def from_hub_scope(cls, scope: str) -> AccessLevel | None:
        return next((level for level, s in _HUB_SCOPES.items() if s == scope), None)


_LEVEL_ACTIONS = {
    AccessLevel.PUBLIC_READ.value: frozenset({PULL}),
    AccessLevel.READ.value: frozenset({PULL}),
    AccessLevel.WRITE.value: frozenset({PULL, PUSH}),
    AccessLevel.DELETE.value: REPOSITORY_ACTIONS,
}
_HUB_SCOPES = {
    AccessLevel.PUBLIC_READ: "repo:public_read",
    AccessLevel.READ: "repo:read",
    AccessLevel.WRITE: "repo:write",
    AccessLevel.DELETE: "repo:admin",
}


class Visibility(enum.Enum):
    PUBLIC = "public"
    PRIVATE = "private"


@dataclass(frozen=True, slots=True)
class User:
    id: int
    name: str
    password_hash: str | None
    is_admin: bool
    disabled: bool
    created_at: int
    totp_enabled: bool = False
    # Linked to an identity provider (OIDC, LDAP, SCIM): a single sign-on account.
    linked: bool = False
    # Moved whenever the account's sessions are ended: an API session carries the epoch it
    # was opened in and is refused once it moves (store: end_sessions).
    session_epoch: int = 0


@dataclass(frozen=True, slots=True)
class TokenRecord:
    """A personal access token as stored: never the secret, only its keyed hash."""

    id: str
    uuid: str
    owner_id: int
    owner_name: str
    description: str
    access: AccessLevel
    secret_hash: bytes
    active: bool
    created_at: int
    expires_at: int | None
    created_ip: str | None
    created_user_agent: str | None
    last_used_at: int | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    # "manual" (made by a person) or "auto" (made by a sign-in), as Docker Hub shows it.
    generated_by: str = "manual"
    # Fine-grained: the names and patterns it is limited to (None: no list).
    repositories: tuple[str, ...] | None = None
    # Network-bound: where it may be used from (None: anywhere).
    allow_from: tuple[Network, ...] | None = None
    # The keyed hash of a secret revoked as leaked (see revoked_as_leaked).
    leaked_secret_hash: bytes | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at


class TokenState(enum.Enum):
    """`active`, `inactive` (disabled by a person, or reported leaked), or `expired` (past
    `expires_at`, whether active or not)."""

    ACTIVE = "active"
    INACTIVE = "inactive"
    EXPIRED = "expired"


LEAKED = "the token's secret was revoked as leaked: regenerate it, then activate it"


def revoked_as_leaked(record: TokenRecord | OrgTokenRecord) -> bool:
    """Whether the token's secret is one reported leaked (POST /v2/credentials/revoke): such a
    token stays inactive until it is regenerated, so a leaked secret never works again."""
    return record.leaked_secret_hash is not None and record.leaked_secret_hash == record.secret_hash


def token_state(record: TokenRecord | OrgTokenRecord, now: float) -> TokenState:
    if record.expired(now):
        return TokenState.EXPIRED
    return TokenState.ACTIVE if record.active else TokenState.INACTIVE


@dataclass(frozen=True, slots=True)
class TokenQuery:
    """Filters for listing tokens across users (admin); None means "any"."""

    owner: str | None = None
    generated_by: str | None = None
    state: TokenState | None = None
    last_used_before: int | None = None
    last_used_after: int | None = None
    # Active tokens expiring at or before this time (and not yet expired).
    expiring_before: int | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class TokenAuthRecord:
    """The few columns /token needs to authenticate a token, in one lookup."""

    token_id: str
    secret_hash: bytes
    active: bool
    expires_at: int | None
    access: AccessLevel
    owner_id: int
    owner_name: str
    owner_is_admin: bool
    owner_disabled: bool
    generated_by: str = "manual"
    repositories: tuple[str, ...] | None = None
    allow_from: tuple[Network, ...] | None = None
    # A regenerated token's old secret, accepted until `previous_secret_until` (rotation).
    previous_secret_hash: bytes | None = None
    previous_secret_until: int | None = None


@dataclass(frozen=True, slots=True)
class Repository:
    name: str
    visibility: Visibility
    created_at: int


class OrgRole(enum.Enum):
    OWNER = "owner"
    MEMBER = "member"


class TeamPermission(enum.Enum):
    """What a team may do on the organization repositories a rule matches."""

    READ = "read"
    WRITE = "write"
    ADMIN = "admin"

    @property
    def actions(self) -> frozenset[str]:
        return _TEAM_ACTIONS[self]


_TEAM_ACTIONS = {
    TeamPermission.READ: frozenset({PULL}),
    TeamPermission.WRITE: frozenset({PULL, PUSH}),
    TeamPermission.ADMIN: REPOSITORY_ACTIONS,
}


@dataclass(frozen=True, slots=True)
class TeamRule:
    """A team's permission on a repository name or pattern inside its organization."""

    team: str
    pattern: str  # relative to the organization: "app", "ci/*"
    permission: TeamPermission


@dataclass(frozen=True, slots=True)
class OrgMembership:
    """One organization as one user sees it: their role (None: not a member) and team rules."""

    org: str
    role: OrgRole | None
    rules: tuple[TeamRule, ...] = ()


@dataclass(frozen=True, slots=True)
class Principal:
    """Who is asking at /token, and the cap their credential puts on them."""

    name: str
    is_admin: bool = False
    # The token used, if any; None for a password or anonymous.
    token_id: str | None = None
    access: AccessLevel | None = None
    # An organization access token: its name is the organization's, and it reaches only
    # the listed repositories (path -> actions), plus public ones if public_read.
    org_token_resources: tuple[tuple[str, frozenset[str]], ...] | None = None
    public_read: bool = False
    # A fine-grained personal access token: the repository names and `namespace/prefix/*`
    # patterns it is limited to (None: whatever its owner may reach).
    repositories: tuple[str, ...] | None = None
    # The client networks the token may be used from (None: anywhere), parsed once when the
    # token is verified and checked on every request (networks.allows).
    networks: tuple[Network, ...] | None = None

    @property
    def anonymous(self) -> bool:
        return self.name == ""

    @property
    def is_org_token(self) -> bool:
        return self.org_token_resources is not None

    @classmethod
    def of_user(cls, user: User) -> Principal:
        """Signed in with the account's password (or vouched for by its identity provider)."""
        return cls(name=user.name, is_admin=user.is_admin)

    @classmethod
    def of_token(cls, record: TokenAuthRecord) -> Principal:
        """A personal or session token: its owner, capped by the token."""
        return cls(
            name=record.owner_name,
            is_admin=record.owner_is_admin,
            token_id=record.token_id,
            access=record.access,
            repositories=record.repositories,
            networks=record.allow_from,
        )

    @classmethod
    def of_org_token(cls, record: OrgTokenRecord) -> Principal:
        return cls(
            name=record.org,
            token_id=record.id,
            org_token_resources=record.resources,
            public_read=record.public_read,
            networks=record.allow_from,
        )


ANONYMOUS = Principal(name="")


@dataclass(frozen=True, slots=True)
class WebSession:
    """A web page's sign-in session as stored: `id` is the keyed hash of the secret its cookie
    holds, never the secret. `token_id` is the personal access token a read-only session was
    opened with, `token_secret` which of its secrets (rotation.secret_fingerprint); `expires_at`
    is the absolute timeout, `last_seen_at` slides (coarsely)."""

    id: str
    user_id: int
    user_name: str
    read_only: bool
    token_id: str | None
    created_at: int
    last_seen_at: int
    expires_at: int
    created_ip: str | None
    user_agent: str | None
    token_secret: str | None = None


@dataclass(slots=True)  # not frozen: built per /token request, 4x cheaper (never mutated)
class TokenUse:
    """One use of a token at /token, batched before it is written."""

    at: int
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class AdminKey:
    """An admin API key as stored (hash only); its secret is shown once at creation."""

    id: str
    description: str
    secret_hash: bytes
    created_at: int
    created_by: str
    revoked_at: int | None
    last_used_at: int | None
    last_used_ip: str | None
    # What the key opens: "admin" (the admin API) or "scim" (SCIM provisioning at /scim/v2);
    # never both, so the provisioner's key cannot administer.
    purpose: str = "admin"
    # Network-bound: where it may be used from (None: anywhere).
    allow_from: tuple[Network, ...] | None = None


@dataclass(frozen=True, slots=True)
class AuditEvent:
    at: int
    actor: str
    actor_kind: str
    action: str
    target: str | None = None
    ip: str | None = None
    user_agent: str | None = None
    details: dict[str, Any] | None = None
    count: int = 1
    id: int | None = None


# An account's own events (GET /v2/account/audit) are those it made signed in (actor kind
# "user": the internal actors "cli", "revocation-api", "staleness-policy" are names an account
# may hold too), those whose target is its name for the actions below (an organization, a
# team, a repository or a SCIM group may be spelled like an account without being it), and
# those about its tokens (details.owner). Matched by prefix.
ACCOUNT_TARGET_ACTIONS = ("user.", "2fa.", "scim.user.", "auth.failed")
OWNED_TOKEN_ACTIONS = ("token.", "session_token.")


@dataclass(frozen=True, slots=True)
class AuditQuery:
    actor: str | None = None
    # This account's own events (see ACCOUNT_TARGET_ACTIONS); with `since` at the account's
    # creation, none of an earlier holder of its name (a deleted organization, failed sign-ins).
    subject: str | None = None
    action: str | None = None
    since: int | None = None
    until: int | None = None
    limit: int = 100
    offset: int = 0


@dataclass(frozen=True, slots=True)
class Actor:
    """Who made a change, for the audit log: a user (by session), an admin key, the CLI."""

    name: str
    kind: str  # "user", "admin_key", "cli", "anonymous"
    ip: str | None = None
    user_agent: str | None = None


CLI_ACTOR = Actor(name="cli", kind="cli")


@dataclass(frozen=True, slots=True)
class Organization:
    id: int
    name: str
    created_at: int


@dataclass(frozen=True, slots=True)
class OrgMember:
    user_id: int
    username: str
    role: OrgRole
    teams: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class Membership:
    """One of a user's organization or team memberships, and whether a group mapping made it
    ("mapping": it goes when the group goes) or an owner or admin did ("manual": it stays)."""

    org_id: int
    org: str
    team_id: int | None  # None: the organization membership itself
    team: str | None
    role: OrgRole | None  # the organization role; None for a team membership
    source: str


@dataclass(frozen=True, slots=True)
class Identity:
    """An account's link to an identity provider (see regauth.domain.identities)."""

    source: str
    issuer: str
    subject: str
    user_id: int
    groups: tuple[str, ...]
    created_at: int
    last_seen_at: int | None


@dataclass(frozen=True, slots=True)
class Team:
    id: int
    org: str
    name: str
    description: str
    members: tuple[str, ...]
    permissions: tuple[TeamRule, ...]


@dataclass(frozen=True, slots=True)
class OrgTokenRecord:
    id: str
    uuid: str
    org_id: int
    org: str
    label: str
    description: str
    secret_hash: bytes
    public_read: bool
    active: bool
    created_at: int
    created_by: str
    expires_at: int | None
    last_used_at: int | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    resources: tuple[tuple[str, frozenset[str]], ...]
    # Network-bound: where it may be used from (None: anywhere).
    allow_from: tuple[Network, ...] | None = None
    # A regenerated token's old secret, accepted until `previous_secret_until` (rotation).
    previous_secret_hash: bytes | None = None
    previous_secret_until: int | None = None
    # The keyed hash of a secret revoked as leaked (see revoked_as_leaked).
    leaked_secret_hash: bytes | None = None

    def expired(self, now: float) -> bool:
        return self.expires_at is not None and now >= self.expires_at
