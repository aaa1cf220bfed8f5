"""The self-service API in Docker Hub's shapes: sign-in, personal access tokens, account security.

Classes named after Docker Hub's schemas keep its name in the document (`schema_name`);
regauth's fields after the Hub's are marked `addition`, and clients written for the Hub
ignore them.
"""

from __future__ import annotations

import enum
from typing import Annotated, Literal

from regauth.domain.models import AccessLevel, TokenRecord, TokenState, token_state
from regauth.domain.timefmt import rfc3339
from regauth.http.models.base import (
    ALLOW_FROM,
    NEXT,
    PREVIOUS,
    REPOSITORIES,
    DateTime,
    Request,
    Response,
    Uuid,
    doc,
)
from regauth.services.access_tokens import MAX_DESCRIPTION_LENGTH, networks_text
from regauth.services.revocation import MAX_CREDENTIALS

_LABEL = doc(minLength=1, maxLength=MAX_DESCRIPTION_LENGTH, example="CI pull token")
_LAST_USED_IP = doc("Address of the last use at `/token`.", addition=True)
_LAST_USED_CLIENT = doc("User agent of the last use at `/token`.", addition=True)
_REPOSITORIES = doc(
    f"{REPOSITORIES} Fixed at creation, as the scope is.",
    example=["alice/app", "acme/ci/*"],
    addition=True,
)
_ALLOW_FROM = doc(
    f"{ALLOW_FROM} Fixed at creation, as the scope is.",
    example=["10.0.0.0/8", "2001:db8::/32"],
    addition=True,
)


class HubScope(enum.Enum):
    """Docker Hub's token scopes, broadest first: `repo:admin` (pull, push, delete),
    `repo:write` (pull, push), `repo:read` (pull), `repo:public_read` (pull public
    repositories only)."""

    ADMIN = AccessLevel.DELETE.hub_scope
    WRITE = AccessLevel.WRITE.hub_scope
    READ = AccessLevel.READ.hub_scope
    PUBLIC_READ = AccessLevel.PUBLIC_READ.hub_scope


# Sign-in


class UsersLoginRequest(Request):
    """Docker Hub's `UsersLoginRequest`."""

    schema_name = "UsersLoginRequest"

    username: Annotated[str, doc(example="alice")]
    password: Annotated[
        str, doc("The password or a personal access token of the account.", example="p@ssw0rd")
    ]


class AuthCreateTokenRequest(Request):
    """Docker Hub's request body of `AuthCreateAccessToken`."""

    identifier: Annotated[str, doc("The username.", example="alice")]
    secret: Annotated[str, doc("The password or a personal access token.")]


class Users2FALoginRequest(Request):
    """Docker Hub's `Users2FALoginRequest`."""

    login_2fa_token: Annotated[str, doc("The ticket from the 401 of `/v2/users/login`.")]
    code: Annotated[
        str,
        doc(
            "A current 6-digit code from the authenticator app, or an unused recovery code.",
            example="123456",
        ),
    ]


class PostUsersLoginSuccessResponse(Response):
    """Docker Hub's `PostUsersLoginSuccessResponse`."""

    token: Annotated[str, doc("A session JWT for `Authorization: Bearer <token>`.", nullable=False)]


class AuthCreateTokenResponse(Response):
    """Docker Hub's `AuthCreateTokenResponse`."""

    access_token: Annotated[str, doc("A session JWT for `Authorization: Bearer <access_token>`.")]


# Personal access tokens


class AccessToken(Response):
    """Docker Hub's `accessToken` (regauth always sends every field), then regauth's
    additions."""

    schema_name = "accessToken"

    uuid: Uuid
    client_id: Annotated[str, doc("Always `regauth`.", example="regauth")]
    creator_ip: Annotated[
        str, doc('Address the token was created from; `""` if unknown.', example="127.0.0.1")
    ]
    creator_ua: Annotated[
        str, doc('User agent it was created with; `""` if unknown.', example="curl/8.5.0")
    ]
    created_at: DateTime
    last_used: Annotated[
        DateTime | None,
        doc(
            "Last use at `/token` (recorded within a second or so); null if never used.",
            example=None,
        ),
    ]
    generated_by: Annotated[
        Literal["manual", "auto"],
        doc(
            "`manual`: made by a person; `auto`: a session token made by a password sign-in.",
            example="manual",
        ),
    ]
    is_active: Annotated[bool, doc(example=True)]
    token: Annotated[
        str,
        doc(
            'The secret (`rgp_...`) in the response to creation; `""` everywhere else.',
            example="",
        ),
    ]
    token_label: Annotated[str, doc(example="CI pull token")]
    scopes: Annotated[
        list[HubScope],
        doc(
            "One Docker Hub scope: the token's access level.",
            example=["repo:read"],
            minItems=1,
            maxItems=1,
        ),
    ]
    id: Annotated[
        str,
        doc(
            "The token's public id (the 10 characters after the prefix), as the CLI, logs and "
            "audit show it.",
            example="0a1B2c3D4e",
            addition=True,
        ),
    ]
    expires_at: Annotated[
        DateTime | None, doc("When the token stops working; null if never.", addition=True)
    ]
    state: Annotated[TokenState, doc(addition=True)]
    last_used_ip: Annotated[str | None, _LAST_USED_IP]
    last_used_client: Annotated[str | None, _LAST_USED_CLIENT]
    repositories: Annotated[list[str] | None, _REPOSITORIES]
    allow_from: Annotated[list[str] | None, _ALLOW_FROM]

    @classmethod
    def of(cls, record: TokenRecord, now: float, secret: str = "") -> AccessToken:
        return cls(
            uuid=record.uuid,
            client_id="regauth",
            creator_ip=record.created_ip or "",
            creator_ua=record.created_user_agent or "",
            created_at=rfc3339(record.created_at),
            last_used=rfc3339(record.last_used_at),
            generated_by="auto" if record.generated_by == "auto" else "manual",
            is_active=record.active,
            token=secret,
            token_label=record.description,
            scopes=[HubScope(record.access.hub_scope)],
            id=record.id,
            expires_at=rfc3339(record.expires_at),
            state=token_state(record, now),
            last_used_ip=record.last_used_ip,
            last_used_client=record.last_used_user_agent,
            repositories=list(record.repositories) if record.repositories is not None else None,
            allow_from=networks_text(record.allow_from),
        )


class AccessTokenLimits(Response):
    """regauth's per-account token limits, so scripts can see them coming."""

    schema_name = "accessTokenLimits"

    max_active_tokens: Annotated[
        int, doc("Active tokens the account may hold (`limits.max_active_tokens`).")
    ]
    active_tokens: Annotated[int, doc("Active, unexpired tokens it holds.")]
    token_creations_per_hour: Annotated[
        int, doc("Tokens it may create per hour (`limits.token_creations_per_hour`).")
    ]
    token_creations_remaining: Annotated[
        int, doc("Creations left in the last hour's allowance.", minimum=0)
    ]
    max_token_lifetime_days: Annotated[
        int,
        doc(
            "Longest lifetime a new token may have, in days; 0: no limit (a token may then "
            "never expire).",
            minimum=0,
        ),
    ]


class GetAccessTokensResponse(Response):
    """Docker Hub's `getAccessTokensResponse`, plus regauth's `limits`."""

    schema_name = "getAccessTokensResponse"

    count: Annotated[int, doc("All of the caller's tokens.", example=1)]
    next: Annotated[str | None, NEXT]
    previous: Annotated[str | None, PREVIOUS]
    active_count: Annotated[int, doc("Tokens that are active and not expired.", example=1)]
    results: Annotated[list[AccessToken], doc('Newest first; `token` is `""`.')]
    limits: Annotated[AccessTokenLimits, doc("The account's token limits.", addition=True)]


class CreateAccessTokenRequest(Request):
    """Docker Hub's `createAccessTokenRequest`."""

    schema_name = "createAccessTokenRequest"

    token_label: Annotated[
        str,
        _LABEL,
        doc("Friendly name (surrounding spaces trimmed; no control characters or bidi overrides)."),
    ]
    scopes: Annotated[
        list[Annotated[str, doc(enum=[s.value for s in HubScope])]],
        doc(
            "At least one scope; if several are given the broadest wins.",
            example=["repo:read"],
            minItems=1,
        ),
    ]
    expires_at: Annotated[
        str | None,
        doc(
            "Optional; omitted or null: `limits.default_expiry` (by default the token never "
            "expires; `none` says so whatever the default). When the operator sets "
            "`limits.max_expiry` or `auth.max_token_lifetime_days`, every token must expire "
            "within it. Docker "
            "Hub's form is an RFC 3339 date-time; regauth also accepts a date `YYYY-MM-DD` "
            "(midnight UTC), a number of days such as `30d`, and `none`. Must be in the future.",
            example="2027-10-28T18:30:19Z",
        ),
    ] = None
    repositories: Annotated[list[str] | None, _REPOSITORIES] = None
    allow_from: Annotated[list[str] | None, _ALLOW_FROM] = None


class PatchAccessTokenRequest(Request):
    """Docker Hub's `patchAccessTokenRequest`; at least one field."""

    schema_name = "patchAccessTokenRequest"

    token_label: Annotated[str | None, _LABEL] = None
    is_active: Annotated[bool | None, doc(example=False)] = None


# Account security


class TwoFactorEnrollment(Response):
    secret: Annotated[
        str, doc("The TOTP secret, base32 (shown this once).", example="JBSWY3DPEHPK3PXP")
    ]
    otpauth_uri: Annotated[
        str,
        doc(
            "The same as an `otpauth://totp/...` URI for a QR code.",
            example="otpauth://totp/regauth:alice?secret=JBSWY3DPEHPK3PXP&issuer=regauth",
        ),
    ]


class TwoFactorCodeRequest(Request):
    code: Annotated[
        str,
        doc(
            "A current 6-digit code (for disable, an unused recovery code works too).",
            example="123456",
        ),
    ]


class RecoveryCodes(Response):
    recovery_codes: Annotated[
        list[str],
        doc(
            "Ten one-time codes for `/v2/users/2fa-login` when the device is lost (shown this "
            "once).",
            example=["abcd-efgh"],
            minItems=10,
            maxItems=10,
        ),
    ]


class RevokeCredentialsRequest(Request):
    credentials: Annotated[
        list[str],
        doc(
            "The leaked secrets, as found (`rgp_...`, `rgs_...`, `rga_...`). Anything else is "
            "ignored.",
            maxItems=MAX_CREDENTIALS,
        ),
    ]


class RevokeCredentialsResponse(Response):
    message: Annotated[str, doc("The same text whatever was found.")]
