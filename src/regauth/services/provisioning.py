"""Single sign-on accounts: an identity provider's word (OIDC, LDAP, SCIM) to an account,
linked by what never changes there, made just in time, and kept in the teams its groups map to."""

from __future__ import annotations

import dataclasses
import logging
import re

from regauth import logs
from regauth.config import LiveConfig
from regauth.domain import caseless, group_mappings, usernames
from regauth.domain.clock import Clock
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.domain.models import Actor, Identity, Membership, OrgRole, User
from regauth.errors import BadRequest, Conflict, Forbidden, NotFoundInStore, Unauthorized
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Store

log = logging.getLogger("regauth.provisioning")
DISABLED = "account is disabled"
MAPPING, MANUAL = "mapping", "manual"
_SEPARATORS = re.compile(r"[^a-z0-9]+")


def account_name(claim: str) -> str | None:
    """The registry-namespace name an identity's claim makes, or None when it makes none.

    An e-mail address gives its local part; letters are lowered; any run of other characters
    becomes one '-'. Never a suffix to dodge a taken name: that is the admin's call."""
    name = claim.strip().casefold()
    if "@" in name:
        name = name.split("@", 1)[0]
    name = _SEPARATORS.sub("-", name).strip("-")
    return name if usernames.is_valid(name) else None


class Provisioning:
    def __init__(
        self, store: Store, audit: AuditLog, *, settings: LiveConfig, clock: Clock
    ) -> None:
        self._store = store
        self._audit = audit
        self._settings = settings
        self._clock = clock

    async def sign_in(
        self, identity: ExternalIdentity, ip: str | None, user_agent: str | None
    ) -> User:
        """The account the provider vouched for (made now if it is the first sign-in), its
        groups applied; a disabled account is refused."""
        return await self._store.run(self._sign_in, identity, ip, user_agent)

    @transactional
    def _sign_in(self, identity: ExternalIdentity, ip: str | None, user_agent: str | None) -> User:
        actor = Actor(
            name=identity.username, kind=identity.source.value, ip=ip, user_agent=user_agent
        )
        user = self.provision(identity, actor)
        if user.disabled:
            raise Unauthorized(DISABLED).of_an_account()
        self.apply_groups(user, actor)
        return user

    @transactional
    def provision(self, identity: ExternalIdentity, actor: Actor) -> User:
        """The linked account (its groups recorded as given now), or a new one linked to it."""
        now = int(self._clock())
        source, issuer, subject = identity.source.value, identity.issuer, identity.subject
        linked = self._store.find_identity(source, issuer, subject)
        if linked is not None:
            self._store.saw_identity(source, issuer, subject, identity.groups, now=now)
            user = self._store.get_user_by_id(linked.user_id)
            assert user is not None  # the link goes with its account (ON DELETE CASCADE)
            return user
        vouched = self._vouched_by_scim(identity)
        if vouched is not None:
            user, scim_id = vouched
            self._store.link_identity(user.id, source, issuer, subject, identity.groups, now=now)
            self._audit.record(
                actor, "user.link", user.name, source=source, issuer=issuer or None, scim_id=scim_id
            )
            return dataclasses.replace(user, linked=True)
        name = account_name(identity.username)
        if name is None:
            raise Forbidden(
                f"the identity provider's name {identity.username!r} cannot be a registry "
                "account name: an admin can create the account and link it"
            )
        if self._store.get_user(name) is not None or self._store.get_org(name) is not None:
            # Never linked by name: whoever holds the name here may not be this person.
            raise Conflict(
                f"the name {name!r} is taken by an account not linked to this identity: an admin "
                f"can link it (regauth user link {name} --{source} {subject}"
                + (f" --issuer {issuer})" if issuer else ")")
            )
        user = self._store.create_user(name, None, is_admin=False, now=now)
        self._store.link_identity(user.id, source, issuer, subject, identity.groups, now=now)
        self._audit.record(actor, "user.provision", name, source=source, issuer=issuer or None)
        return dataclasses.replace(user, linked=True)

    def _vouched_by_scim(self, identity: ExternalIdentity) -> tuple[User, str] | None:
        """The account SCIM made for this person, and its resource's id: the one User resource
        whose current userName (or externalId) is the name the sign-in's provider gives, in
        full, compared without case (ASCII letters only), while its account is linked to no
        provider but SCIM. None otherwise.

        Never by the account name a claim reduces to (found from outside: `Bob_Smith@contractor`
        signed in to the account SCIM made for `bob.smith@corp`, and after SCIM renamed
        `carl@corp` to `carlos@corp` a new IdP user `carl` to carl's): the provisioner vouched
        for a userName, and only a sign-in under it is the person it made the account for."""
        if identity.source is IdentitySource.SCIM:
            return None
        claim = caseless.key(identity.username)
        found = {
            record.user_id: record
            for record in self._store.list_scim_users()
            if claim == caseless.key(str(record.attributes.get("userName", "")))
            or (record.external_id is not None and claim == caseless.key(record.external_id))
        }
        if len(found) != 1:
            return None  # none, or several resources' names: nobody to be sure of
        [record] = found.values()
        sources = {i.source for i in self._store.identities_of(record.user_id)}
        user = self._store.get_user_by_id(record.user_id)
        if user is None or sources != {IdentitySource.SCIM.value}:
            return None  # already someone's at a provider: a second identity is someone else
        return user, record.id

    @transactional
    def link(
        self, name: str, source: IdentitySource, issuer: str, subject: str, actor: Actor
    ) -> Identity:
        """An admin links an existing account to an identity: its next sign-in there is it."""
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        if not subject:
            raise BadRequest("the identity's subject must not be empty")
        self._store.link_identity(
            user.id, source.value, issuer, subject, (), now=int(self._clock())
        )
        self._audit.record(actor, "user.link", name, source=source.value, issuer=issuer or None)
        identity = self._store.find_identity(source.value, issuer, subject)
        assert identity is not None
        return identity

    @transactional
    def unlink(self, name: str, source: IdentitySource, actor: Actor) -> int:
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        removed = self._store.unlink_identities(user.id, source.value)
        if not removed:
            raise NotFoundInStore(f"{name!r} is not linked to {source.value}")
        self._audit.record(actor, "user.unlink", name, source=source.value)
        self.apply_groups(user, actor)  # what the provider's groups gave goes with the link
        return removed

    def identities(self, name: str) -> list[Identity]:
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        return self._store.identities_of(user.id)

    @transactional
    def apply_groups(self, user: User, actor: Actor) -> None:
        """Bring the memberships the mappings make in line with the groups the account is in
        now (at every provider): add what is missing, remove what a mapping made and no group
        gives any more. Manual memberships are never touched: not raised to owner, not
        removed."""
        mappings = self._settings.current.groups.parsed
        want_teams, want_owner = group_mappings.targets(
            mappings, self._store.directory_groups(user.id)
        )
        held = self._store.memberships_of(user.id)
        orgs = {m.org: m for m in held if m.team is None}
        teams: dict[tuple[str, str], Membership] = {
            (m.org, m.team): m for m in held if m.team is not None
        }
        for org_name in sorted(want_owner):
            org = self._store.get_org(org_name)
            if org is None:
                _missing(org_name)
                continue
            row = orgs.get(org_name)
            if row is not None and row.source == MANUAL:
                # An owner or admin chose this role by hand: a mapping neither raises it nor,
                # later, takes the membership away (found from outside: an owner group made a
                # manual member an owner, and leaving the group removed them from the org).
                if row.role is not OrgRole.OWNER:
                    logs.event(
                        log,
                        logging.WARNING,
                        "group_mapping_kept_manual",
                        org=org_name,
                        member=user.name,
                    )
                continue
            if row is None or row.role is not OrgRole.OWNER:
                self._store.set_member(org.id, user.id, OrgRole.OWNER, source=MAPPING)
                self._audit.record(
                    actor, "group_mapping.add", org_name, member=user.name, role="owner"
                )
        for org_name, team_name in sorted(want_teams):
            org = self._store.get_org(org_name)
            team = self._store.get_team(org, team_name) if org is not None else None
            if org is None or team is None:
                _missing(f"{org_name}/{team_name}")
                continue
            if org_name not in orgs and org_name not in want_owner:
                self._store.set_member(org.id, user.id, OrgRole.MEMBER, source=MAPPING)
                orgs[org_name] = Membership(org.id, org_name, None, None, OrgRole.MEMBER, MAPPING)
            if (org_name, team_name) not in teams:
                self._store.add_team_member(team.id, user.id, source=MAPPING)
                self._audit.record(
                    actor, "group_mapping.add", f"{org_name}/{team_name}", member=user.name
                )
        for (org_name, team_name), row in teams.items():
            if row.source == MAPPING and (org_name, team_name) not in want_teams:
                assert row.team_id is not None
                self._store.remove_team_member(row.team_id, user.id)
                self._audit.record(
                    actor, "group_mapping.remove", f"{org_name}/{team_name}", member=user.name
                )
        for org_name, row in orgs.items():
            if row.source == MAPPING and org_name not in want_owner:
                self._leave_org(user, row, want_teams, teams, actor)

    def _leave_org(
        self,
        user: User,
        row: Membership,
        want_teams: frozenset[tuple[str, str]],
        teams: dict[tuple[str, str], Membership],
        actor: Actor,
    ) -> None:
        """A mapped organization membership no owner group gives any more: a member still while
        any team keeps them there (mapped or manual), else gone. The last owner stays."""
        mapped_team = any(org == row.org for org, _ in want_teams)
        manual_team = any(m.org == row.org and m.source == MANUAL for m in teams.values())
        if row.role is OrgRole.OWNER and self._last_owner(row.org_id, user.id):
            logs.event(
                log, logging.WARNING, "group_mapping_kept_last_owner", org=row.org, member=user.name
            )
            return
        if mapped_team or manual_team:
            # Teams keep them a member; a membership only manual teams hold becomes manual.
            source = MAPPING if mapped_team else MANUAL
            if row.role is OrgRole.OWNER or source != row.source:
                self._store.set_member(row.org_id, user.id, OrgRole.MEMBER, source=source)
            if row.role is OrgRole.OWNER:
                self._audit.record(
                    actor, "group_mapping.remove", row.org, member=user.name, role="owner"
                )
            return
        self._store.remove_member(row.org_id, user.id)
        self._audit.record(actor, "group_mapping.remove", row.org, member=user.name)

    def _last_owner(self, org_id: int, user_id: int) -> bool:
        # Held to the end of the transaction, as OrganizationService does before its check.
        self._store.lock_org(org_id)
        owners = [m.user_id for m in self._store.list_members(org_id) if m.role is OrgRole.OWNER]
        return owners == [user_id]


def _missing(target: str) -> None:
    # The configuration names a team or organization nobody made (yet): nothing to add to.
    logs.event(log, logging.WARNING, "group_mapping_target_missing", target=target)
