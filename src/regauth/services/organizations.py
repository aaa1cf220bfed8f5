"""Organizations: the namespace they own, members with roles, teams and their repository rules."""

from __future__ import annotations

from regauth.domain.callers import ApiCaller
from regauth.domain.clock import Clock
from regauth.domain.models import (
    Actor,
    Organization,
    OrgMember,
    OrgRole,
    Team,
    TeamPermission,
    User,
)
from regauth.domain.scopes import is_repository_name
from regauth.domain.usernames import TEAM_NAME
from regauth.errors import BadRequest, Conflict, Forbidden, NotFoundInStore
from regauth.services.access_tokens import validate_note
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.services.users import validate_username
from regauth.store.base import Store


def validate_pattern(pattern: str) -> str:
    """`*`, a repository name inside the organization, or such a name ending in `/*`."""
    body = pattern[:-2] if pattern.endswith("/*") else pattern
    if pattern != "*" and not is_repository_name(body):
        raise BadRequest(
            "pattern must be '*', a repository name like 'app', or a prefix like 'ci/*'"
        )
    return pattern


class OrganizationService:
    def __init__(self, store: Store, audit: AuditLog, *, clock: Clock) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    @transactional
    def create(self, name: str, owner: User, actor: Actor) -> Organization:
        validate_username(name)  # it becomes a namespace, like a username
        org = self._store.create_org(name, owner.id, now=int(self._clock()))
        self._audit.record(actor, "org.create", name, owner=owner.name)
        return org

    def get(self, name: str) -> Organization:
        org = self._store.get_org(name)
        if org is None:
            raise NotFoundInStore(f"no such organization: {name!r}")
        return org

    def all(self) -> list[Organization]:
        return self._store.list_orgs()

    def memberships(self, user: User) -> list[tuple[Organization, OrgRole]]:
        """The organizations `user` belongs to, by name, with their role in each."""
        roles = ((org, self.role_of(org, user)) for org in self._store.list_orgs())
        return [(org, role) for org, role in roles if role is not None]

    @transactional
    def delete(self, org: Organization, actor: Actor) -> None:
        self._store.delete_org(org.id)
        self._audit.record(actor, "org.delete", org.name)

    # Who may do what

    def role_of(self, org: Organization, user: User | None) -> OrgRole | None:
        return self._store.member_role(org.id, user.id) if user is not None else None

    def require_member(self, org: Organization, caller: ApiCaller) -> None:
        """Reading the organization: its members, any admin; personal access tokens may read."""
        if caller.is_admin or self.role_of(org, caller.user) is not None:
            return
        raise NotFoundInStore(f"no such organization: {org.name!r}")  # don't reveal it exists

    def require_owner(self, org: Organization, caller: ApiCaller) -> Actor:
        """Changing the organization: an owner (or an admin) signed in with a password."""
        self.require_member(org, caller)
        if caller.method == "pat":
            raise Forbidden(
                "a session opened with a personal access token cannot manage an organization"
            )
        if not caller.is_admin and self.role_of(org, caller.user) is not OrgRole.OWNER:
            raise Forbidden(f"only owners of {org.name!r} may do this")
        return caller.actor

    def may_manage(self, org: Organization, caller: ApiCaller) -> bool:
        """Whether `require_owner` lets the caller change the organization (pages show their
        forms only then)."""
        try:
            self.require_owner(org, caller)
        except (Forbidden, NotFoundInStore):
            return False
        return True

    def require_namespace_owner(self, namespace: str, caller: ApiCaller) -> Actor:
        """A user's own namespace, or an organization the caller owns (admins: any)."""
        org = self._store.get_org(namespace)
        if org is not None:
            return self.require_owner(org, caller)
        user = caller.require_account_management("change repositories")
        if user.name != namespace and not caller.is_admin:
            raise Forbidden(f"you do not own the namespace {namespace!r}")
        return caller.actor

    # Members

    def members(self, org: Organization) -> list[OrgMember]:
        return self._store.list_members(org.id)

    @transactional
    def set_member(self, org: Organization, user: User, role: OrgRole, actor: Actor) -> None:
        self._store.lock_org(org.id)  # see _is_last_owner
        if role is OrgRole.MEMBER and self._is_last_owner(org, user):
            raise Conflict("an organization keeps at least one owner")
        self._store.set_member(org.id, user.id, role)
        self._audit.record(actor, "org.member_set", org.name, member=user.name, role=role.value)

    @transactional
    def remove_member(self, org: Organization, user: User, actor: Actor) -> None:
        self._store.lock_org(org.id)  # see _is_last_owner
        if self._is_last_owner(org, user):
            raise Conflict("an organization keeps at least one owner")
        if not self._store.remove_member(org.id, user.id):
            raise NotFoundInStore(f"{user.name!r} is not a member of {org.name!r}")
        # Access is computed per request from membership, so it ends here, for every token.
        self._audit.record(actor, "org.member_remove", org.name, member=user.name)

    def _is_last_owner(self, org: Organization, user: User) -> bool:
        # The caller holds the organization's row (lock_org) to the end of its transaction:
        # two owners demoting or removing each other at once would each see the other still
        # an owner, and leave none (PostgreSQL runs both; SQLite one after the other).
        owners = [m for m in self._store.list_members(org.id) if m.role is OrgRole.OWNER]
        return [m.user_id for m in owners] == [user.id]

    # Teams

    def team(self, org: Organization, name: str) -> Team:
        team = self._store.get_team(org, name)
        if team is None:
            raise NotFoundInStore(f"no such team: {name!r}")
        return team

    def teams(self, org: Organization) -> list[Team]:
        return self._store.list_teams(org)

    @transactional
    def create_team(self, org: Organization, name: str, description: str, actor: Actor) -> Team:
        if TEAM_NAME.fullmatch(name) is None:
            raise BadRequest("team name must be 1-64 characters of a-z, 0-9, '.', '_' or '-'")
        self._store.create_team(org.id, name, validate_note(description, "a team's description"))
        self._audit.record(actor, "team.create", f"{org.name}/{name}")
        return self.team(org, name)

    @transactional
    def update_team(
        self,
        org: Organization,
        team: Team,
        actor: Actor,
        *,
        name: str | None,
        description: str | None,
    ) -> Team:
        if name is not None and TEAM_NAME.fullmatch(name) is None:
            raise BadRequest("team name must be 1-64 characters of a-z, 0-9, '.', '_' or '-'")
        self._store.update_team(
            team.id,
            name=name,
            description=validate_note(description, "a team's description")
            if description is not None
            else None,
        )
        self._audit.record(actor, "team.update", f"{org.name}/{team.name}", name=name)
        return self.team(org, name or team.name)

    @transactional
    def delete_team(self, org: Organization, team: Team, actor: Actor) -> None:
        self._store.delete_team(team.id)
        self._audit.record(actor, "team.delete", f"{org.name}/{team.name}")

    @transactional
    def add_team_member(self, org: Organization, team: Team, user: User, actor: Actor) -> None:
        if self._store.member_role(org.id, user.id) is None:
            raise BadRequest(f"{user.name!r} is not a member of {org.name!r}: add them first")
        self._store.add_team_member(team.id, user.id)
        self._audit.record(actor, "team.member_add", f"{org.name}/{team.name}", member=user.name)

    @transactional
    def remove_team_member(self, org: Organization, team: Team, user: User, actor: Actor) -> None:
        if not self._store.remove_team_member(team.id, user.id):
            raise NotFoundInStore(f"{user.name!r} is not in team {team.name!r}")
        self._audit.record(actor, "team.member_remove", f"{org.name}/{team.name}", member=user.name)

    @transactional
    def set_permission(
        self,
        org: Organization,
        team: Team,
        pattern: str,
        permission: TeamPermission | None,
        actor: Actor,
    ) -> Team:
        if pattern.startswith(f"{org.name}/"):
            raise BadRequest(
                f"patterns are relative to the organization: use {pattern[len(org.name) + 1 :]!r}"
            )
        self._store.set_team_permission(team.id, validate_pattern(pattern), permission)
        self._audit.record(
            actor,
            "team.permission",
            f"{org.name}/{team.name}",
            pattern=pattern,
            permission=permission.value if permission else None,
        )
        return self.team(org, team.name)
