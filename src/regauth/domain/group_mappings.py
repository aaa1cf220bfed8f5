"""Group mappings: an identity provider's group names to organization teams and owners,
written `group=org/team` (members of `team`) or `group=org:owners` (owners of `org`)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from regauth.domain import caseless, usernames

OWNERS = "owners"


@dataclass(frozen=True, slots=True)
class GroupMapping:
    group: str
    org: str
    team: str | None  # None: the mapping makes owners of the organization

    def __str__(self) -> str:
        return (
            f"{self.group}={self.org}:{OWNERS}"
            if self.team is None
            else (f"{self.group}={self.org}/{self.team}")
        )


def parse(entry: str) -> GroupMapping:
    """`developers=acme/dev` or `platform-admins=acme:owners`; ValueError says what is wrong."""
    group, sep, target = entry.partition("=")
    group, target = group.strip(), target.strip()
    if not sep or not group:
        raise ValueError(f"{entry!r}: write GROUP=ORG/TEAM or GROUP=ORG:owners")
    if target.endswith(f":{OWNERS}"):
        org, team = target[: -len(OWNERS) - 1], None
    else:
        org, slash, team_name = target.partition("/")
        if not slash:
            raise ValueError(f"{entry!r}: write GROUP=ORG/TEAM or GROUP=ORG:owners")
        team = team_name
    if not usernames.is_valid(org):
        raise ValueError(f"{entry!r}: {org!r} is not an organization name")
    if team is not None and not usernames.TEAM_NAME.fullmatch(team):
        raise ValueError(f"{entry!r}: {team!r} is not a team name")
    return GroupMapping(group, org, team)


def targets(
    mappings: Iterable[GroupMapping], groups: Iterable[str]
) -> tuple[frozenset[tuple[str, str]], frozenset[str]]:
    """What the groups someone is in map to: (org, team) pairs, and the orgs they own.

    Group names compare without case, ASCII letters only (`caseless`): directories (LDAP's cn,
    Active Directory) do, and a provider's display of a name is no reason to drop someone from
    a team; a look-alike character (U+017F for `s`) is no way into one."""
    held = {caseless.key(g) for g in groups}
    teams = {
        (m.org, m.team) for m in mappings if m.team is not None and caseless.key(m.group) in held
    }
    owners = {m.org for m in mappings if m.team is None and caseless.key(m.group) in held}
    return frozenset(teams), frozenset(owners)
