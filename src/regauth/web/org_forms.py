"""The organization pages' forms, each a model written once, and the organization token form's
numbered repository rows read into the resources `OrgTokenService` takes."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from regauth.domain.models import PULL, PUSH, OrgRole, TeamPermission
from regauth.errors import BadRequest
from regauth.web.forms import Expiration, entries

# Rows the form shows at first, and at most (the service's own limit is checked by the service).
FIRST_ROWS = 3
MAX_ROWS = 50
# Three fields a row (name, pull, push) and the fixed ones: the form's own field limit.
MAX_FIELDS = 3 * MAX_ROWS + 10
_ROW = re.compile(r"repository_([0-9]{1,3})")


class MemberForm(msgspec.Struct, frozen=True):
    username: str
    role: Literal["owner", "member"]

    @property
    def org_role(self) -> OrgRole:
        return OrgRole(self.role)


class RoleForm(msgspec.Struct, frozen=True):
    role: Literal["owner", "member"]

    @property
    def org_role(self) -> OrgRole:
        return OrgRole(self.role)


class TeamForm(msgspec.Struct, frozen=True):
    name: str
    description: str = ""


class TeamMemberForm(msgspec.Struct, frozen=True):
    username: str


class PermissionForm(msgspec.Struct, frozen=True):
    pattern: str
    permission: Literal["read", "write", "admin", "none"]

    @property
    def team_permission(self) -> TeamPermission | None:
        return None if self.permission == "none" else TeamPermission(self.permission)


class OrgTokenForm(msgspec.Struct, frozen=True):
    """The fixed fields; the repository rows are read by `resources_of`."""

    label: str
    description: str = ""
    expiration: Expiration = "none"
    expiration_date: str = ""
    public_read: str = ""  # a checkbox: "on" when ticked
    allow_from: str = ""  # a text area, as on the personal token form

    @property
    def networks(self) -> list[str] | None:
        return entries(self.allow_from)

    @property
    def expiry(self) -> str:
        """In `timefmt.parse_expiry`'s words, as the personal token form says it."""
        if self.expiration == "custom":
            return self.expiration_date or "missing"
        return "none" if self.expiration == "none" else f"{self.expiration}d"


def resources_of(fields: dict[str, str], org: str) -> dict[str, frozenset[str]]:
    """Each filled row `repository_N` with its `pull_N` / `push_N` boxes, as a path in the
    organization ("app" or "acme/app" both name acme/app). Names, actions and how many are
    allowed are the service's to check; a row with no action ticked is a mistake said here."""
    resources: dict[str, frozenset[str]] = {}
    for key, value in fields.items():
        row = _ROW.fullmatch(key)
        name = value.strip()
        if row is None or not name:
            continue
        n = row.group(1)
        actions = frozenset(
            action for action in (PULL, PUSH) if fields.get(f"{action}_{n}") == "on"
        )
        if not actions:
            raise BadRequest(f"choose pull and/or push for the repository {name!r}")
        path = name if name.startswith(f"{org}/") else f"{org}/{name}"
        resources[path] = resources.get(path, frozenset()) | actions
    return resources
