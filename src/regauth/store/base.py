"""The store interface: one protocol per aggregate, in domain records, and the Database
they share (transactions, the change version, the threads calls run in)."""

from __future__ import annotations

from collections.abc import Callable, Hashable, Iterable, Mapping, Sequence
from contextlib import AbstractContextManager
from typing import Any, ParamSpec, Protocol, TypeVar

from regauth.domain.hygiene import Claimed, Credential, Notification, NotificationQuery
from regauth.domain.models import (
    AccessLevel,
    AdminKey,
    AuditEvent,
    AuditQuery,
    Identity,
    Membership,
    Organization,
    OrgMember,
    OrgMembership,
    OrgRole,
    OrgTokenRecord,
    Repository,
    Team,
    TeamPermission,
    TokenAuthRecord,
    TokenQuery,
    TokenRecord,
    TokenUse,
    User,
    Visibility,
    WebSession,
)
from regauth.domain.networks import Network
from regauth.domain.scim.records import ScimGroup, ScimUser
from regauth.store.failures import FailureTable

P = ParamSpec("P")
T = TypeVar("T")


class Database(Protocol):
    """Transactions, the change version caches are keyed on, and the thread the calls run in.

    Every store method is synchronous and short; from the event loop they are awaited through
    `run()`, which runs them in the store's own threads, so no query ever blocks the loop.
    A service operation is one `transaction()`: every store call inside it (in the same
    thread) joins it, and it commits or rolls back as a whole."""

    @property
    def backend(self) -> str:
        """ "sqlite" or "postgresql"."""
        ...

    def transaction(self) -> AbstractContextManager[None]: ...

    def in_transaction(self) -> bool: ...

    def version(self) -> Hashable:
        """Changes whenever data a cache may hold changed, in any process or replica, unless
        the change named the rows it touched (row_changed)."""
        ...

    def row_stamp(self) -> int:
        """Read before a look-up, for row_changed() to compare with."""
        ...

    def row_changed(self, row: str, since: int) -> bool:
        """Whether `row` ("tokens:<id>": a personal or session token updated or deleted) may
        have changed since row_stamp() returned `since`, in any process or replica."""
        ...

    def trusted(self) -> bool:
        """False while changes made elsewhere might go unnoticed (PostgreSQL: the
        notification connection is down): caches must not serve then."""
        ...

    def listen(self) -> None:
        """Called once by a serving process, before it serves."""
        ...

    def failure_table(self, *, secret: bytes, name: str) -> FailureTable:
        """Where the sign-in throttle (name "throttle") and the revocation limit count:
        shared by every worker of the host (SQLite) or every replica (PostgreSQL)."""
        ...

    async def run(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T: ...

    def ping(self) -> None: ...

    def close(self) -> None: ...


class UserStore(Protocol):
    """Accounts: names, password hashes, admin and disabled flags."""

    def create_user(
        self, name: str, password_hash: str | None, *, is_admin: bool, now: int
    ) -> User: ...

    def get_user(self, name: str) -> User | None: ...

    def get_user_by_id(self, user_id: int) -> User | None: ...

    def list_users(self) -> list[User]: ...

    def update_user(
        self,
        name: str,
        *,
        password_hash: str | None = None,
        is_admin: bool | None = None,
        disabled: bool | None = None,
    ) -> User | None: ...

    def lock_user(self, user_id: int) -> None:
        """Inside a transaction: hold the account until it ends, so that a limit checked on
        its tokens cannot be passed by a concurrent creation in another worker or replica."""
        ...


class TokenStore(Protocol):
    """Personal access tokens (manual and auto-generated) and their creation record."""

    def create_token(
        self,
        *,
        token_id: str,
        uuid: str,
        owner_id: int,
        description: str,
        access: AccessLevel,
        secret_hash: bytes,
        expires_at: int | None,
        created_ip: str | None,
        created_user_agent: str | None,
        now: int,
        generated_by: str = "manual",
        repositories: tuple[str, ...] | None = None,
        allow_from: tuple[Network, ...] | None = None,
    ) -> TokenRecord: ...

    def get_token(self, token_id: str) -> TokenRecord | None: ...

    def get_token_by_uuid(self, uuid: str) -> TokenRecord | None: ...

    def list_tokens(self, owner_id: int) -> list[TokenRecord]: ...

    def search_tokens(self, query: TokenQuery, *, now: int) -> list[TokenRecord]: ...

    def update_token(
        self,
        token_id: str,
        *,
        description: str | None = None,
        active: bool | None = None,
        leaked_secret_hash: bytes | None = None,
    ) -> TokenRecord | None:
        """`leaked_secret_hash`: the secret revoked as leaked (domain: revoked_as_leaked)."""
        ...

    def delete_token(self, token_id: str) -> bool: ...

    def create_auto_token(self, *, keep: int, **fields: Any) -> tuple[TokenRecord, list[str]]:
        """Insert an auto-generated token, deleting the owner's oldest beyond `keep - 1`."""
        ...

    def delete_auto_tokens(self, owner_id: int) -> int: ...

    def record_token_creation(self, owner_id: int, *, now: int) -> None: ...

    def count_token_creations(self, owner_id: int, *, since: int) -> tuple[int, int | None]: ...

    def count_active_tokens(self, owner_id: int, *, now: int) -> int: ...

    def find_token_for_auth(self, token_id: str) -> TokenAuthRecord | None:
        """The /token hot path: one indexed lookup joining the owner."""
        ...

    def record_token_uses(self, uses: Mapping[str, TokenUse]) -> None:
        """Write a batch of last-used records in one transaction."""
        ...


class SecondFactorStore(Protocol):
    """TOTP secrets (encrypted), the last accepted step, recovery code hashes."""

    def get_totp(self, user_id: int) -> tuple[bytes | None, bool, int | None]: ...

    def set_totp(self, user_id: int, secret: bytes | None, *, enabled: bool) -> None: ...

    def use_totp_step(self, user_id: int, step: int) -> bool: ...

    def set_recovery_codes(self, user_id: int, hashes: list[bytes]) -> None: ...

    def use_recovery_code(self, user_id: int, code_hash: bytes, *, now: int) -> bool: ...


class RepositoryStore(Protocol):
    """Repositories with a recorded visibility."""

    def public_repositories(self, names: Iterable[str]) -> frozenset[str]:
        """The subset of `names` that are public (hot path when a request reaches beyond its own namespace)."""
        ...

    def set_visibility(self, name: str, visibility: Visibility, *, now: int) -> Repository: ...

    def list_repositories(self) -> list[Repository]: ...

    def record_push_grants(self, first_granted: Mapping[str, int]) -> None:
        """Repositories regauth granted a push to, and when (a known one is left as it is)."""
        ...

    def push_ever_granted(self, name: str) -> bool: ...


class AuditStore(Protocol):
    """The audit trail."""

    def append_audit(self, event: AuditEvent) -> None: ...

    def add_aggregated_audit(self, events: Sequence[tuple[str | None, AuditEvent]]) -> None:
        """One transaction: each event upserted by its key (counts added), or appended when
        its key is None."""
        ...

    def list_audit(self, query: AuditQuery) -> list[AuditEvent]: ...


class AdminKeyStore(Protocol):
    """Admin API keys and SCIM keys (hashes only)."""

    def create_admin_key(
        self,
        key_id: str,
        *,
        description: str,
        secret_hash: bytes,
        created_by: str,
        now: int,
        purpose: str = "admin",
        allow_from: tuple[Network, ...] | None = None,
    ) -> AdminKey: ...

    def get_admin_key(self, key_id: str) -> AdminKey | None: ...

    def list_admin_keys(self) -> list[AdminKey]: ...

    def revoke_admin_key(self, key_id: str, *, now: int) -> bool: ...

    def record_admin_key_uses(self, uses: Mapping[str, TokenUse]) -> None:
        """Write a batch of admin-key last uses in one transaction (never moving one back)."""
        ...


class OrgStore(Protocol):
    """Organizations, members, teams and team permissions."""

    def create_org(self, name: str, owner_id: int, *, now: int) -> Organization: ...

    def get_org(self, name: str) -> Organization | None: ...

    def list_orgs(self) -> list[Organization]: ...

    def delete_org(self, org_id: int) -> None: ...

    def lock_org(self, org_id: int) -> None:
        """As lock_user, for the per-organization token cap."""
        ...

    def set_member(
        self, org_id: int, user_id: int, role: OrgRole, *, source: str = "manual"
    ) -> None: ...

    def remove_member(self, org_id: int, user_id: int) -> bool: ...

    def list_members(self, org_id: int) -> list[OrgMember]: ...

    def member_role(self, org_id: int, user_id: int) -> OrgRole | None: ...

    def org_context(self, username: str, names: Iterable[str]) -> dict[str, OrgMembership]:
        """The user's role and team rules in each of `names` that is an organization."""
        ...

    def create_team(self, org_id: int, name: str, description: str) -> None: ...

    def get_team(self, org: Organization, name: str) -> Team | None: ...

    def list_teams(self, org: Organization) -> list[Team]: ...

    def update_team(self, team_id: int, *, name: str | None, description: str | None) -> None: ...

    def delete_team(self, team_id: int) -> None: ...

    def add_team_member(self, team_id: int, user_id: int, *, source: str = "manual") -> None: ...

    def memberships_of(self, user_id: int) -> list[Membership]:
        """The user's organization and team memberships, with who made each."""
        ...

    def remove_team_member(self, team_id: int, user_id: int) -> bool: ...

    def set_team_permission(
        self, team_id: int, pattern: str, permission: TeamPermission | None
    ) -> None: ...


class OrgTokenStore(Protocol):
    """Organization access tokens and the repositories each may reach."""

    def create_org_token(
        self,
        *,
        token_id: str,
        uuid: str,
        org_id: int,
        label: str,
        description: str,
        secret_hash: bytes,
        public_read: bool,
        resources: Mapping[str, frozenset[str]],
        created_by: str,
        expires_at: int | None,
        now: int,
        allow_from: tuple[Network, ...] | None = None,
    ) -> OrgTokenRecord: ...

    def get_org_token(self, token_id: str) -> OrgTokenRecord | None: ...

    def list_org_tokens(self, org_id: int) -> list[OrgTokenRecord]: ...

    def count_org_tokens(self, org_id: int) -> int: ...

    def update_org_token(
        self,
        token_id: str,
        *,
        label: str | None = None,
        active: bool | None = None,
        resources: Mapping[str, frozenset[str]] | None = None,
        public_read: bool | None = None,
        description: str | None = None,
        leaked_secret_hash: bytes | None = None,
    ) -> OrgTokenRecord | None: ...

    def delete_org_token(self, token_id: str) -> bool: ...

    def record_org_token_uses(self, uses: Mapping[str, TokenUse]) -> None: ...


class WebSessionStore(Protocol):
    """The web page's sign-in sessions, by the keyed hash of their secret."""

    def create_web_session(self, session: WebSession) -> None: ...

    def find_web_session(self, session_id: str) -> WebSession | None: ...

    def list_web_sessions(self, user_id: int, *, now: int) -> list[WebSession]:
        """The account's sessions not past their absolute timeout, the latest seen first."""
        ...

    def touch_web_session(self, session_id: str, *, now: int, unless_after: int) -> None: ...

    def delete_web_session(self, session_id: str, *, user_id: int | None = None) -> bool: ...

    def end_sessions(self, user_id: int) -> int:
        """End every session of the account (a new password, a second factor, disabled): its
        page sessions are deleted (how many is returned) and its session epoch moves, which
        ends its API sessions. Personal access tokens stay."""
        ...

    def purge_web_sessions(self, *, now: int, idle_before: int) -> int: ...


class IdentityStore(Protocol):
    """Accounts' links to identity providers (single sign-on), by what never changes there."""

    def find_identity(self, source: str, issuer: str, subject: str) -> Identity | None: ...

    def identities_of(self, user_id: int) -> list[Identity]: ...

    def link_identity(
        self,
        user_id: int,
        source: str,
        issuer: str,
        subject: str,
        groups: tuple[str, ...],
        *,
        now: int,
    ) -> None:
        """Conflict when the identity is linked already (to this or another account)."""
        ...

    def saw_identity(
        self, source: str, issuer: str, subject: str, groups: tuple[str, ...], *, now: int
    ) -> None: ...

    def unlink_identities(self, user_id: int, source: str) -> int: ...

    def directory_groups(self, user_id: int) -> frozenset[str]:
        """The groups the account is in at any provider (sign-ins' last groups, SCIM's)."""
        ...


class ScimStore(Protocol):
    """SCIM resources: users (beside the accounts they made), groups and their members."""

    def create_scim_user(
        self,
        scim_id: str,
        user_id: int,
        *,
        external_id: str | None,
        attributes: dict[str, Any],
        now: int,
    ) -> ScimUser: ...

    def get_scim_user(self, scim_id: str) -> ScimUser | None: ...

    def scim_user_of(self, user_id: int) -> ScimUser | None: ...

    def list_scim_users(self) -> list[ScimUser]: ...

    def update_scim_user(
        self, scim_id: str, *, external_id: str | None, attributes: dict[str, Any], now: int
    ) -> None: ...

    def delete_scim_user(self, scim_id: str) -> list[str]:
        """The resource and its group memberships go: the ids of the groups it was in."""
        ...

    def scim_groups_of(self, user_id: int) -> list[tuple[str, str]]: ...

    def create_scim_group(
        self, group_id: str, *, display_name: str, external_id: str | None, now: int
    ) -> None:
        """Conflict (uniqueness) when the name is taken."""
        ...

    def get_scim_group(self, group_id: str) -> ScimGroup | None: ...

    def list_scim_groups(self) -> list[ScimGroup]: ...

    def update_scim_group(
        self, group_id: str, *, display_name: str, external_id: str | None, now: int
    ) -> None: ...

    def set_scim_group_members(self, group_id: str, user_ids: Iterable[int]) -> None: ...

    def delete_scim_group(self, group_id: str) -> bool: ...


class NotificationStore(Protocol):
    """Webhook notifications: one row per event, claimed by one process for each attempt."""

    def add_notification(self, notification: Notification) -> bool:
        """False when an event of its dedup key is there already."""
        ...

    def claim_notifications(self, *, now: int, hold_until: int, limit: int) -> list[Claimed]: ...

    def finish_notification(
        self,
        notification_id: str,
        *,
        now: int,
        delivered: bool,
        status: int | None,
        error: str | None,
        retry_at: int | None,
    ) -> None: ...

    def retry_notification(self, notification_id: str, *, now: int) -> Notification | None: ...

    def get_notification(self, notification_id: str) -> Notification | None: ...

    def list_notifications(self, query: NotificationQuery) -> list[Notification]: ...

    def purge_notifications(self, *, before: int) -> int: ...


class JobStore(Protocol):
    """Periodic work run by one process of the deployment each time it is due."""

    def claim_job(self, name: str, *, now: int, next_due: int) -> bool: ...

    def reschedule_job(self, name: str, *, due_at: int) -> None: ...

    def job_runs(self) -> dict[str, tuple[int, int | None]]: ...


class CredentialStore(Protocol):
    """Every kind of token as a Credential, for the expiry and staleness policies."""

    def credentials_expiring(self, *, after: int, until: int) -> list[Credential]: ...

    def stale_credentials(
        self, *, unused_since: int, now: int, for_policy: bool, limit: int = 1000
    ) -> list[Credential]: ...

    def deactivate_unused(self, credential: Credential, *, unused_since: int, now: int) -> bool: ...

    def delete_unused_session_tokens(
        self, token_ids: Sequence[str], *, unused_since: int
    ) -> list[str]: ...


class TokenSecretStore(Protocol):
    """A personal or organization access token's secret, replaced in place (rotation)."""

    def replace_token_secret(
        self,
        token_id: str,
        *,
        expected_hash: bytes,
        secret_hash: bytes,
        previous_until: int | None,
    ) -> bool: ...

    def replace_org_token_secret(
        self,
        token_id: str,
        *,
        expected_hash: bytes,
        secret_hash: bytes,
        previous_until: int | None,
    ) -> bool: ...

    def end_previous_secret(self, token_id: str) -> None:
        """A regenerated token's old secret stops at once (its grace period ends now)."""
        ...

    def end_previous_org_secret(self, token_id: str) -> None: ...


class AuditExportStore(Protocol):
    """The audit events not yet exported, held for one writer."""

    def unexported_audit(
        self, *, limit: int
    ) -> AbstractContextManager[list[tuple[AuditEvent, int, bool]]]: ...

    def mark_audit_exported(self, exported: Sequence[tuple[int, int]]) -> None: ...


class MetaStore(Protocol):
    """Facts about the deployment (the HMAC secret's fingerprint)."""

    def meta_value(self, key: str) -> str | None: ...

    def claim_meta_value(self, key: str, value: str) -> str: ...


class Store(
    Database,
    MetaStore,
    UserStore,
    TokenStore,
    SecondFactorStore,
    RepositoryStore,
    AuditStore,
    AdminKeyStore,
    OrgStore,
    OrgTokenStore,
    WebSessionStore,
    IdentityStore,
    ScimStore,
    NotificationStore,
    JobStore,
    CredentialStore,
    TokenSecretStore,
    AuditExportStore,
    Protocol,
):
    """Everything one backend implements; services take only the parts they use."""
