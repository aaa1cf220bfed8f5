"""Organization access tokens in Docker Hub's `/v2/orgs/{org}/access-tokens` shapes."""

from __future__ import annotations

from typing import Annotated

import msgspec

from regauth.domain.models import OrgTokenRecord, TokenState
from regauth.domain.models import token_state as state_of
from regauth.domain.timefmt import rfc3339
from regauth.http.models.base import ALLOW_FROM, DateTime, Request, Response, Uuid, doc
from regauth.services.access_tokens import MAX_DESCRIPTION_LENGTH, networks_text
from regauth.services.org_tokens import MAX_RESOURCES

# Docker Hub's scope names for what an organization token may do on a repository, and the
# older "repo-" spelling its example uses (accepted, never sent).
HUB_ORG_SCOPES = {"pull": "scope-image-pull", "push": "scope-image-push"}
OLD_HUB_ORG_SCOPES = {"pull": "repo-pull", "push": "repo-push"}
PUBLIC_REPOSITORIES_PATH = "*/*/public"
_LABEL = doc(minLength=1, maxLength=MAX_DESCRIPTION_LENGTH, example="CI pull token")
_EXPIRES_AT = doc(
    "Optional; omitted or null: the token never expires. Docker Hub's form is an RFC 3339 "
    "date-time; regauth also accepts a date `YYYY-MM-DD` (midnight UTC), a number of days such "
    "as `30d`, and `none`. Must be in the future.",
    example="2027-10-28T18:30:19Z",
)
_ALLOW_FROM = doc(
    f"{ALLOW_FROM} Fixed at creation.",
    example=["10.0.0.0/8", "2001:db8::/32"],
    addition=True,
)


class OrgAccessTokenResource(Request):
    """Docker Hub's `orgAccessTokenResource`: a repository and what the token may do there.
    regauth takes `TYPE_REPO` only (Docker Hub's `TYPE_ORG` is refused with 400), and at most
    50 repositories per token."""

    schema_name = "orgAccessTokenResource"

    # Checked by the handler, with messages that say what regauth takes.
    type: Annotated[str, doc(enum=["TYPE_REPO"], example="TYPE_REPO")]
    path: Annotated[
        str,
        doc(
            "`<org>/<repository>`, a repository of this organization (it need not exist yet); "
            "or `*/*/public`: every public repository, with `scope-image-pull` only.",
            example="acme/app",
        ),
    ]
    scopes: Annotated[
        list[Annotated[str, doc(enum=[*HUB_ORG_SCOPES.values(), *OLD_HUB_ORG_SCOPES.values()])]],
        doc(
            "`scope-image-pull` and/or `scope-image-push`; the `repo-pull` and `repo-push` of "
            "Docker Hub's example are accepted as the same. Responses use the `scope-image-*` "
            "names, and push comes with pull (a registry checks pull on every push).",
            example=["scope-image-pull", "scope-image-push"],
            minItems=1,
        ),
    ]


class OrgAccessToken(Response):
    """Docker Hub's `getOrgAccessTokenResponse` (its `orgAccessToken` with `resources`; regauth
    always sends every field), then regauth's additions. The secret is never shown again."""

    schema_name = "getOrgAccessTokenResponse"

    id: Annotated[
        Uuid,
        doc("The token's handle in these routes.", example="a7a5ef25-8889-43a0-8cc7-f2a94268e861"),
    ]
    label: Annotated[str, doc(example="CI pull token")]
    description: Annotated[
        str,
        doc(
            'The description given at creation (`""` if none). Docker Hub takes it in '
            "`createOrgAccessTokenRequest` but does not list it in `orgAccessToken`.",
            addition=True,
        ),
    ]
    created_by: Annotated[
        str,
        doc(
            "Who created it: a user name, `admin-key:<id>` for an admin API key, or `cli`. The "
            "token keeps working after its creator leaves the organization.",
            example="olivia",
        ),
    ]
    is_active: Annotated[bool, doc(example=True)]
    created_at: DateTime
    expires_at: Annotated[DateTime | None, doc("When the token stops working; null if never.")]
    last_used_at: Annotated[
        DateTime | None,
        doc(
            "Last use at `/token` (recorded within a second or so); null if never used.",
            example=None,
        ),
    ]
    resources: Annotated[
        list[OrgAccessTokenResource],
        doc(
            "What the token reaches: the repositories it lists, then `*/*/public` if it may "
            "pull public repositories."
        ),
    ]
    token_id: Annotated[
        str,
        doc(
            "The token's public id (the 10 characters after the prefix), as the CLI, logs and "
            "audit show it.",
            example="0a1B2c3D4e",
            addition=True,
        ),
    ]
    org: Annotated[str, doc("The organization that owns the token.", example="acme", addition=True)]
    state: Annotated[
        TokenState,
        doc(
            "`active`, `inactive` (`is_active` false), or `expired` (past `expires_at`, whether "
            "active or not).",
            addition=True,
        ),
    ]
    last_used_ip: Annotated[str | None, doc("Address of the last use at `/token`.", addition=True)]
    last_used_client: Annotated[
        str | None, doc("User agent of the last use at `/token`.", addition=True)
    ]
    allow_from: Annotated[list[str] | None, _ALLOW_FROM]

    @classmethod
    def of(cls, record: OrgTokenRecord, now: float) -> OrgAccessToken:
        resources = [
            OrgAccessTokenResource(
                type="TYPE_REPO",
                path=path,
                scopes=[HUB_ORG_SCOPES[a] for a in sorted(actions) if a in HUB_ORG_SCOPES],
            )
            for path, actions in record.resources
        ]
        if record.public_read:
            resources.append(
                OrgAccessTokenResource(
                    type="TYPE_REPO", path=PUBLIC_REPOSITORIES_PATH, scopes=[HUB_ORG_SCOPES["pull"]]
                )
            )
        return cls(
            id=record.uuid,
            label=record.label,
            description=record.description,
            created_by=record.created_by,
            is_active=record.active,
            created_at=rfc3339(record.created_at),
            expires_at=rfc3339(record.expires_at),
            last_used_at=rfc3339(record.last_used_at),
            resources=resources,
            token_id=record.id,
            org=record.org,
            state=state_of(record, now),
            last_used_ip=record.last_used_ip,
            last_used_client=record.last_used_user_agent,
            allow_from=networks_text(record.allow_from),
        )


class CreatedOrgAccessToken(OrgAccessToken):
    """Docker Hub's `createOrgAccessTokenResponse`: the token with its secret in `token`, the
    only time the secret is shown."""

    schema_name = "createOrgAccessTokenResponse"

    token: Annotated[
        str,
        doc(
            "The secret (`rgo_...`; Docker Hub's are `dckr_oat_...`). Use it as the password at "
            "`/token` with the organization's name as the username.",
            example="rgo_0a1B2c3D4e...",
        ),
    ]

    @classmethod
    def created(cls, record: OrgTokenRecord, now: float, secret: str) -> CreatedOrgAccessToken:
        return cls(**msgspec.structs.asdict(OrgAccessToken.of(record, now)), token=secret)


class GetOrgAccessTokensResponse(Response):
    """Docker Hub's `getOrgAccessTokensResponse`. Its items are `orgAccessToken`s; regauth's
    also carry `resources` and regauth's additions."""

    schema_name = "getOrgAccessTokensResponse"

    total: Annotated[int, doc("All of the organization's tokens.", example=1)]
    next: Annotated[
        str | None,
        doc(
            "URL of the next page; null on the last page (Docker Hub's schema does not say null).",
            example=None,
        ),
    ]
    previous: Annotated[
        str | None,
        doc(
            "URL of the previous page; null on the first (Docker Hub's schema does not say null).",
            example=None,
        ),
    ]
    results: Annotated[list[OrgAccessToken], doc("Newest first.")]


class CreateOrgAccessTokenRequest(Request):
    """Docker Hub's `createOrgAccessTokenRequest`."""

    schema_name = "createOrgAccessTokenRequest"

    label: Annotated[str, _LABEL, doc("Friendly name (surrounding spaces are trimmed).")]
    description: Annotated[
        str | None,
        doc("Longer text, kept to its first 500 characters.", example="Token for the CI pipeline"),
    ] = None
    resources: Annotated[
        list[OrgAccessTokenResource] | None,
        doc(
            f"What the token may reach, at most {MAX_RESOURCES} repositories. Omitted or empty: "
            "nothing, until updated."
        ),
    ] = None
    expires_at: Annotated[str | None, _EXPIRES_AT] = None
    allow_from: Annotated[list[str] | None, _ALLOW_FROM] = None


class UpdateOrgAccessTokenRequest(Request):
    """Docker Hub's `updateOrgAccessTokenRequest`. Send at least one of `label`, `description`,
    `is_active` and `resources` (else 400)."""

    schema_name = "updateOrgAccessTokenRequest"

    label: Annotated[str | None, _LABEL] = None
    description: Annotated[str | None, doc("The token's description (up to 500 characters).")] = (
        None
    )
    resources: Annotated[
        list[OrgAccessTokenResource] | None,
        doc("Replaces the whole list, `*/*/public` included: what is not sent is removed."),
    ] = None
    is_active: Annotated[
        bool | None,
        doc("false: refused at `/token` from now on; true: working again.", example=False),
    ] = None
