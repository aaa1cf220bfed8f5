"""Organizations in Docker Hub's `/v2/orgs` shapes: members and groups; and regauth's additions
(a group's repository permissions, a namespace's repository visibility)."""

from __future__ import annotations

from typing import Annotated, Literal

from regauth.domain.models import OrgMember, Team, TeamPermission
from regauth.http.models.base import Request, Response, doc

_GROUP_NAME = doc(minLength=1, maxLength=64, pattern="^[a-z0-9][a-z0-9._-]{0,63}$", example="devs")
_PATTERN = doc(
    "Relative to the organization: `*` (every repository of it), a repository name (`app`, "
    "meaning `<org>/app`), or a prefix ending in `/*` (`ci/*`). A pattern that starts with the "
    "organization's name is refused (400): leave the name out.",
    example="ci/*",
)


class OrgMemberView(Response):
    """Docker Hub's `org_member` (its `user` fields included), as far as regauth keeps them. Not
    sent: the profile fields (`company`, `date_joined`, `full_name`, `gravatar_email`,
    `gravatar_url`, `location`, `profile_url`) and `email`: regauth keeps no profiles or e-mail
    addresses; `primary_email` and `is_guest`; and the insights fields (`last_logged_in_at`,
    `last_seen_at`, `last_desktop_version`)."""

    schema_name = "org_member"

    id: Annotated[
        str,
        doc(
            "The user's internal numeric id, as a string (Docker Hub: its UUID without dashes).",
            example="7",
        ),
    ]
    username: Annotated[str, doc(example="dave")]
    role: Annotated[
        Literal["Owner", "Member"],
        doc(
            "Capitalised, as Docker Hub writes it. Docker Hub's `Invitee` does not occur: "
            "regauth adds members directly.",
            example="Member",
        ),
    ]
    groups: Annotated[
        list[str],
        doc("The groups (teams) of this organization the user is in.", example=["devs"]),
    ]
    type: Annotated[Literal["User"], doc(example="User")]

    @classmethod
    def of(cls, member: OrgMember) -> OrgMemberView:
        return cls(
            id=str(member.user_id),
            username=member.username,
            role="Owner" if member.role.value == "owner" else "Member",
            groups=list(member.teams),
            type="User",
        )


class OrgMemberPage(Response):
    """Docker Hub's `org_member_paginated`. Every member in one page: `next` and `previous` are
    always null, and `page`/`page_size` are not read."""

    schema_name = "org_member_paginated"

    count: Annotated[int, doc(example=2)]
    next: Annotated[str | None, doc(example=None)]
    previous: Annotated[str | None, doc(example=None)]
    results: list[OrgMemberView]


class UpdateOrgMemberRequest(Request):
    """Docker Hub's request body of `PUT /v2/orgs/{org_name}/members/{username}`. The role is
    read in any case; Docker Hub's `editor` is refused with 400."""

    schema_name = "updateOrgMemberRequest"

    role: Annotated[str, doc(enum=["owner", "member"], example="member")]


class GroupPermission(Response):
    """A group's permission on the organization's repositories a pattern matches."""

    schema_name = "groupPermission"

    pattern: Annotated[str, _PATTERN]
    permission: Annotated[
        TeamPermission,
        doc(
            "`read`: pull; `write`: pull and push; `admin`: pull, push and delete. A member's "
            "personal access token still gets no more than its own access level."
        ),
    ]


class OrgGroup(Response):
    """Docker Hub's `org_group`, without its `uuid` (regauth's groups have only the numeric
    `id`), plus the group's members and repository permissions."""

    schema_name = "org_group"

    id: Annotated[int, doc(example=10)]
    name: Annotated[str, _GROUP_NAME]
    description: Annotated[str, doc(example="Developers")]
    member_count: Annotated[int, doc(example=1)]
    members: Annotated[
        list[str],
        doc("User names of the group's members, sorted.", example=["dave"], addition=True),
    ]
    permissions: Annotated[
        list[GroupPermission],
        doc("The group's repository permissions, by pattern.", addition=True),
    ]

    @classmethod
    def of(cls, team: Team) -> OrgGroup:
        return cls(
            id=team.id,
            name=team.name,
            description=team.description,
            member_count=len(team.members),
            members=list(team.members),
            permissions=[
                GroupPermission(pattern=r.pattern, permission=r.permission)
                for r in team.permissions
            ],
        )


class OrgGroupPage(Response):
    """The 200 body of Docker Hub's `GET /v2/orgs/{org_name}/groups` (inline there). Every group
    in one page: `next` and `previous` are always null, and `page`/`page_size` are not read."""

    schema_name = "getOrgGroupsResponse"

    count: Annotated[int, doc(example=1)]
    next: Annotated[str | None, doc(example=None)]
    previous: Annotated[str | None, doc(example=None)]
    results: list[OrgGroup]


class CreateOrgGroupRequest(Request):
    """Docker Hub's request body of `POST /v2/orgs/{org_name}/groups`."""

    schema_name = "createOrgGroupRequest"

    name: Annotated[str, _GROUP_NAME]
    description: Annotated[
        str | None, doc("Kept to its first 500 characters.", example="Developers")
    ] = None


class UpdateOrgGroupRequest(Request):
    """Docker Hub's request body of `PATCH /v2/orgs/{org_name}/groups/{group_name}`: the fields
    sent are changed, the others kept."""

    schema_name = "updateOrgGroupRequest"

    name: Annotated[str | None, _GROUP_NAME] = None
    description: Annotated[str | None, doc(example="Developers")] = None


class GroupMember(Response):
    """Docker Hub's `group_member`, as far as regauth keeps it. Not sent: the profile fields
    (`company`, `date_joined`, `full_name`, `gravatar_email`, `gravatar_url`, `location`,
    `profile_url`) and `email`: regauth keeps no profiles or e-mail addresses."""

    schema_name = "group_member"

    id: Annotated[
        str,
        doc(
            "The user name again (Docker Hub: the user's UUID without dashes; `org_member.id` is "
            "the numeric id).",
            example="dave",
        ),
    ]
    username: Annotated[str, doc(example="dave")]
    type: Annotated[Literal["User"], doc(example="User")]


class GroupMemberPage(Response):
    """The 200 body of Docker Hub's `GET /v2/orgs/{org_name}/groups/{group_name}/members`
    (inline there). Every member in one page: `next` and `previous` are always null, and
    `page`/`page_size` are not read. Sorted by user name."""

    schema_name = "getGroupMembersResponse"

    count: Annotated[int, doc(example=1)]
    next: Annotated[str | None, doc(example=None)]
    previous: Annotated[str | None, doc(example=None)]
    results: list[GroupMember]


class AddGroupMemberRequest(Request):
    """Docker Hub's `add_member_to_org_group`."""

    schema_name = "add_member_to_org_group"

    member: Annotated[
        str,
        doc(
            "User name of a member of the organization (else 400: add them to the organization "
            "first).",
            example="dave",
        ),
    ]


class SetGroupPermissionRequest(Request):
    """One rule of a group: the permission for a pattern, replacing the group's rule for that
    pattern if it has one."""

    schema_name = "setGroupPermissionRequest"

    pattern: Annotated[str, _PATTERN]
    permission: Annotated[
        Literal["read", "write", "admin", "none"],
        doc("As in `groupPermission`; `none` removes the rule."),
    ]


class PatchNamespaceRepositoryRequest(Request):
    schema_name = "patchNamespaceRepositoryRequest"

    is_private: Annotated[
        bool,
        doc(
            "true: private; false: public (anyone may pull it). Docker Hub's name for a "
            "repository's visibility.",
            example=False,
        ),
    ]
