"""The admin API's shapes (`/admin/v1`), which the CLI's `--json` prints too, and the audit log
(an account reads its own through `/v2/account/audit`)."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from msgspec import Meta

from regauth.domain.models import (
    AccessLevel,
    AdminKey,
    AuditEvent,
    Identity,
    Organization,
    Repository,
    TokenRecord,
    TokenState,
    User,
    Visibility,
    token_state,
)
from regauth.domain.timefmt import rfc3339
from regauth.domain.usernames import MAX_LENGTH, MIN_LENGTH, USERNAME
from regauth.http.models.base import (
    ALLOW_FROM,
    REPOSITORIES,
    AdminRequest,
    DateTime,
    Query,
    Response,
    Uuid,
    doc,
)
from regauth.services.access_tokens import MAX_DESCRIPTION_LENGTH, networks_text
from regauth.services.passwords import MAX_PASSWORD_LENGTH
from regauth.services.users import MIN_PASSWORD_LENGTH

# Unix seconds, as the queries take them: up to 2^40 (year 36812).
Epoch = Annotated[int, Meta(ge=0, le=2**40)]
_NAME = doc(
    minLength=MIN_LENGTH, maxLength=MAX_LENGTH, pattern=USERNAME.pattern.join("^$"), example="alice"
)
_PASSWORD = doc(minLength=MIN_PASSWORD_LENGTH, maxLength=MAX_PASSWORD_LENGTH)
_LIMIT = doc("At most this many results.")
_OFFSET = doc("Skip this many results.")
_ALLOW_FROM = doc(ALLOW_FROM, example=None)


# Tokens


class Token(Response):
    """A personal access token in regauth's own shape (admin API and the CLI's `--json`); never
    the secret."""

    id: Annotated[str, doc("Public id, the 10 characters after the prefix.", example="0a1B2c3D4e")]
    uuid: Annotated[Uuid, doc("The Docker Hub API's handle for the same token.")]
    user: Annotated[str, doc("Owner.", example="alice")]
    description: Annotated[str, doc("Label (Docker Hub's `token_label`).", example="CI pull token")]
    access: Annotated[
        AccessLevel,
        doc(
            "regauth's names for Docker Hub's four levels: `public-read` (`repo:public_read`), "
            "`read` (`repo:read`), `write` (`repo:write`), `delete` (`repo:admin`)."
        ),
    ]
    generated_by: Annotated[
        Literal["manual", "auto"], doc("`auto`: a session token made by a sign-in.")
    ]
    state: TokenState
    created_at: DateTime
    created_ip: str | None
    created_user_agent: str | None
    last_used_at: DateTime | None
    last_used_ip: str | None
    last_used_user_agent: str | None
    expires_at: Annotated[DateTime | None, doc("Null if it never expires.")]
    repositories: Annotated[list[str] | None, doc(REPOSITORIES, example=None)]
    allow_from: Annotated[list[str] | None, _ALLOW_FROM]

    @classmethod
    def of(cls, record: TokenRecord, now: float) -> Token:
        return cls(
            id=record.id,
            uuid=record.uuid,
            user=record.owner_name,
            description=record.description,
            access=record.access,
            generated_by="auto" if record.generated_by == "auto" else "manual",
            state=token_state(record, now),
            created_at=rfc3339(record.created_at),
            created_ip=record.created_ip,
            created_user_agent=record.created_user_agent,
            last_used_at=rfc3339(record.last_used_at),
            last_used_ip=record.last_used_ip,
            last_used_user_agent=record.last_used_user_agent,
            expires_at=rfc3339(record.expires_at),
            repositories=list(record.repositories) if record.repositories is not None else None,
            allow_from=networks_text(record.allow_from),
        )


class CreatedToken(Token):
    """A token just made by the CLI's `token create --json`, with its secret."""

    token: str


class TokenList(Response):
    tokens: list[Token]


class TokenSearch(Query):
    user: Annotated[str | None, doc("Only this owner's tokens.")] = None
    kind: Annotated[
        Literal["manual", "auto"] | None,
        doc(
            "Only tokens made by a person (`manual`) or by a sign-in (`auto`, session tokens), "
            "as in `generated_by`."
        ),
    ] = None
    state: Annotated[TokenState | None, doc("Only tokens in this state.")] = None
    last_used_before: Annotated[
        Epoch | None, doc("Only tokens last used before this time (Unix seconds).")
    ] = None
    last_used_after: Annotated[
        Epoch | None, doc("Only tokens last used after this time (Unix seconds).")
    ] = None
    expiring: Annotated[
        str | None,
        doc(
            "Only active tokens that expire within this span from now: `7d`, `12h` (a number "
            "with a unit d, h, m or s).",
            example="7d",
            maxLength=12,
        ),
    ] = None
    limit: Annotated[int, Meta(ge=1, le=1000), _LIMIT] = 100
    offset: Annotated[int, Meta(ge=0, le=10**9), _OFFSET] = 0


class PatchTokenRequest(AdminRequest):
    """At least one field."""

    description: Annotated[str | None, doc(minLength=1, maxLength=MAX_DESCRIPTION_LENGTH)] = None
    active: bool | None = None


# Users


class UserView(Response):
    schema_name = "User"

    name: Annotated[str, doc("Also the user's registry namespace.", example="alice")]
    admin: bool
    disabled: bool
    has_password: Annotated[
        bool,
        doc(
            "False for an account that can only use personal access tokens made for it by an "
            "administrator."
        ),
    ]
    two_factor: Annotated[bool, doc("Two-factor authentication is on.")]
    created_at: DateTime
    single_sign_on: Annotated[
        bool,
        doc("Linked to an identity provider (OpenID Connect, LDAP or SCIM)."),
    ] = False

    @classmethod
    def of(cls, user: User) -> UserView:
        return cls(
            name=user.name,
            admin=user.is_admin,
            disabled=user.disabled,
            has_password=user.password_hash is not None,
            two_factor=user.totp_enabled,
            created_at=rfc3339(user.created_at),
            single_sign_on=user.linked,
        )


class IdentityView(Response):
    """An account's link to an identity provider."""

    schema_name = "Identity"

    source: Literal["oidc", "ldap", "scim"]
    issuer: Annotated[str, doc("The OpenID Provider's issuer; empty for LDAP and SCIM.")]
    subject: Annotated[str, doc("What never changes for the person there (sub, entryUUID).")]
    groups: Annotated[list[str], doc("The provider's groups at the last sign-in.")]
    last_seen_at: DateTime | None

    @classmethod
    def of(cls, identity: Identity) -> IdentityView:
        return cls(
            source=identity.source,  # type: ignore[arg-type]  # the table's CHECK holds it
            issuer=identity.issuer,
            subject=identity.subject,
            groups=list(identity.groups),
            last_seen_at=rfc3339(identity.last_seen_at) if identity.last_seen_at else None,
        )


class UserList(Response):
    users: list[UserView]


class CreateUserRequest(AdminRequest):
    name: Annotated[str, _NAME, doc("A single registry path component.")]
    password: Annotated[
        str | None,
        _PASSWORD,
        doc("Omitted or null: no password (the account can only use tokens made for it)."),
    ] = None
    admin: bool = False


class PatchUserRequest(AdminRequest):
    """At least one field."""

    disabled: Annotated[
        bool | None, doc("A disabled account can neither sign in nor use its tokens.")
    ] = None
    admin: bool | None = None
    password: Annotated[
        str | None, _PASSWORD, doc("A new password; ends the account's session tokens.")
    ] = None
    two_factor: Annotated[
        bool | None,
        doc(
            "`false` turns two-factor authentication off (a lost device). Only the user can "
            "turn it on: `true` is a 400.",
            enum=[False],
        ),
    ] = None


# Repositories


class RepositoryView(Response):
    schema_name = "Repository"

    name: Annotated[str, doc(example="team/app")]
    visibility: Visibility
    created_at: DateTime

    @classmethod
    def of(cls, repository: Repository) -> RepositoryView:
        return cls(
            name=repository.name,
            visibility=repository.visibility,
            created_at=rfc3339(repository.created_at),
        )


class RepositoryList(Response):
    repositories: list[RepositoryView]


class SetVisibilityRequest(AdminRequest):
    visibility: Visibility


# The audit log


class AuditEventView(Response):
    schema_name = "AuditEvent"

    id: int | None
    at: DateTime
    actor: Annotated[
        str,
        doc(
            "A user name, `admin-key:<id>`, `cli`, `revocation-api`, or for `auth.failed` the "
            "username tried.",
            example="alice",
        ),
    ]
    actor_kind: Annotated[
        str,
        doc("`user`, `admin_key`, `cli`, `revocation` or `anonymous`.", example="user"),
    ]
    action: Annotated[str, doc(example="token.create")]
    target: Annotated[str | None, doc("What was changed: a token id, a user or repository name.")]
    ip: str | None
    user_agent: str | None
    details: Annotated[dict[str, Any], doc("Action-specific fields (never secrets).")]
    count: Annotated[
        int,
        doc(
            "How many times it happened (failed sign-ins are counted per hour, not repeated).",
            minimum=1,
        ),
    ]

    @classmethod
    def of(cls, event: AuditEvent) -> AuditEventView:
        return cls(
            id=event.id,
            at=rfc3339(event.at),
            actor=event.actor,
            actor_kind=event.actor_kind,
            action=event.action,
            target=event.target,
            ip=event.ip,
            user_agent=event.user_agent,
            details=event.details or {},
            count=event.count,
        )


class AuditEventList(Response):
    events: Annotated[list[AuditEventView], doc("Newest first.")]


class AuditSearch(Query):
    actor: Annotated[
        str | None,
        doc("Only events by this actor (a user name, `admin-key:<id>`, `cli`, `revocation-api`)."),
    ] = None
    action: Annotated[
        str | None,
        doc("Only events of this action, e.g. `token.create`, `user.disable`, `auth.failed`."),
    ] = None
    since: Annotated[Epoch | None, doc("Only events at or after this time (Unix seconds).")] = None
    until: Annotated[Epoch | None, doc("Only events at or before this time (Unix seconds).")] = None
    limit: Annotated[int, Meta(ge=1, le=1000), _LIMIT] = 100
    offset: Annotated[int, Meta(ge=0, le=10**9), _OFFSET] = 0


# Organizations


class OrganizationView(Response):
    schema_name = "Organization"

    name: Annotated[str, doc("Also the organization's registry namespace.", example="acme")]
    created_at: DateTime

    @classmethod
    def of(cls, org: Organization) -> OrganizationView:
        return cls(name=org.name, created_at=rfc3339(org.created_at))


class OrganizationList(Response):
    orgs: list[OrganizationView]


class CreateOrganizationRequest(AdminRequest):
    name: Annotated[
        str,
        _NAME,
        doc(
            "A single registry path component; users and organizations share one set of names.",
            example="acme",
        ),
    ]
    owner: Annotated[
        str, doc("An existing user: the organization's first owner.", example="olivia")
    ]


# Admin API keys (the CLI's `admin-key list --json`; no HTTP route shows them)


class AdminKeyView(Response):
    id: str
    description: str
    created_at: DateTime
    created_by: str
    revoked_at: DateTime | None
    last_used_at: DateTime | None
    last_used_ip: str | None
    purpose: str  # "admin" or "scim"
    allow_from: Annotated[list[str] | None, _ALLOW_FROM]

    @classmethod
    def of(cls, key: AdminKey) -> AdminKeyView:
        return cls(
            id=key.id,
            description=key.description,
            created_at=rfc3339(key.created_at),
            created_by=key.created_by,
            revoked_at=rfc3339(key.revoked_at),
            last_used_at=rfc3339(key.last_used_at),
            last_used_ip=key.last_used_ip,
            purpose=key.purpose,
            allow_from=networks_text(key.allow_from),
        )


class CreatedAdminKey(AdminKeyView):
    key: str
