"""Credential hygiene's shapes, regauth's own (Docker Hub has none of these): the expiring
filter, regeneration, the stale-token report and the webhook's notifications."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from msgspec import Meta

from regauth.domain.durations import HELP as DURATION_HELP
from regauth.domain.hygiene import Credential, CredentialKind, Notification, NotificationState
from regauth.domain.models import OrgTokenRecord, TokenRecord
from regauth.domain.timefmt import rfc3339
from regauth.http.models.account import AccessToken
from regauth.http.models.admin import Token
from regauth.http.models.base import (
    AdminRequest,
    DateTime,
    PageQuery,
    Query,
    Request,
    Response,
    doc,
)
from regauth.http.models.org_tokens import CreatedOrgAccessToken

_SPAN = doc(f"A span of time: {DURATION_HELP}.", example="7d", maxLength=12)
_GRACE = doc(
    "How long the old secret keeps working: a span of time, "
    f"{DURATION_HELP}; at most 7d. Omitted or `0`: it stops at once.",
    example="1h",
    maxLength=12,
)
_LIMIT = doc("At most this many results.")
_OFFSET = doc("Skip this many results.")


class AccessTokenListQuery(PageQuery):
    """Docker Hub's pagination, and regauth's `expiring` filter."""

    expiring: Annotated[
        str | None,
        _SPAN,
        doc(
            "Only active tokens that expire within this span from now (`7d`: the week's): "
            'the web page\'s "Expires soon". `count` and `active_count` count those.',
            addition=True,
        ),
    ] = None


# Regeneration


class RegenerateAccessTokenRequest(Request):
    """regauth's own: a new secret for the same token."""

    grace_period: Annotated[str | None, _GRACE] = None


class AdminRegenerateTokenRequest(AdminRequest):
    grace_period: Annotated[str | None, _GRACE] = None


_PREVIOUS = doc(
    "Until when the old secret still works (the grace period); null: it stopped working at once."
)


class RegeneratedAccessToken(AccessToken):
    """The token with its new secret in `token` (shown this once), and when the old one stops
    working. Everything else about the token is as it was: its id, uuid, label, scope and
    expiry."""

    schema_name = "regeneratedAccessToken"

    previous_token_valid_until: Annotated[DateTime | None, _PREVIOUS]


class RegeneratedToken(Token):
    """The token (regauth's admin shape) with its new secret in `token`, shown this once."""

    token: str
    previous_token_valid_until: Annotated[DateTime | None, _PREVIOUS]

    @classmethod
    def made(
        cls, record: TokenRecord, now: float, secret: str, until: int | None
    ) -> RegeneratedToken:
        return cls(
            **msgspec.structs.asdict(Token.of(record, now)),
            token=secret,
            previous_token_valid_until=rfc3339(until),
        )


class RegeneratedOrgAccessToken(CreatedOrgAccessToken):
    """The organization's token with its new secret in `token` (shown this once), and when the
    old one stops working. Everything else is as it was: its id, label, resources and expiry."""

    schema_name = "regeneratedOrgAccessToken"

    previous_token_valid_until: Annotated[DateTime | None, _PREVIOUS]

    @classmethod
    def made(
        cls, record: OrgTokenRecord, now: float, secret: str, until: int | None
    ) -> RegeneratedOrgAccessToken:
        return cls(
            **msgspec.structs.asdict(CreatedOrgAccessToken.created(record, now, secret)),
            previous_token_valid_until=rfc3339(until),
        )


# The stale-token report


class StaleTokenSearch(Query):
    unused: Annotated[
        str,
        _SPAN,
        doc(
            "Tokens not used for this long (or never, and made that long ago): `60d`.",
            example="60d",
        ),
    ] = "90d"
    limit: Annotated[int, Meta(ge=1, le=1000), _LIMIT] = 100


class StaleToken(Response):
    """A token of any kind, by its public id (never its secret)."""

    kind: Annotated[
        CredentialKind,
        doc(
            "`personal` (`rgp_`), `session` (`rgs_`, made by a password sign-in) or "
            "`organization` (`rgo_`)."
        ),
    ]
    id: Annotated[str, doc("Public id.", example="0a1B2c3D4e")]
    uuid: str | None
    owner: Annotated[str, doc("The user who owns it, or the organization.", example="alice")]
    description: Annotated[str, doc("Its description (an organization token's label).")]
    active: bool
    created_at: DateTime
    expires_at: DateTime | None
    last_used_at: Annotated[DateTime | None, doc("Null: never used.")]

    @classmethod
    def of(cls, credential: Credential) -> StaleToken:
        return cls(
            kind=credential.kind,
            id=credential.id,
            uuid=credential.uuid,
            owner=credential.owner,
            description=credential.description,
            active=credential.active,
            created_at=rfc3339(credential.created_at),
            expires_at=rfc3339(credential.expires_at),
            last_used_at=rfc3339(credential.last_used_at),
        )


class StaleTokenList(Response):
    unused_since: Annotated[DateTime, doc("The cut-off: no use at or after this time.")]
    tokens: Annotated[list[StaleToken], doc("The longest unused first.")]


# Notifications


class NotificationSearch(Query):
    state: Annotated[NotificationState | None, doc("Only notifications in this state.")] = None
    event: Annotated[
        str | None,
        doc(
            "Only this event: `token.expiring`, `token.expired`, `token.deactivated_stale`, "
            "`credential.leaked_revoked`."
        ),
    ] = None
    limit: Annotated[int, Meta(ge=1, le=1000), _LIMIT] = 100
    offset: Annotated[int, Meta(ge=0, le=10**9), _OFFSET] = 0


class NotificationView(Response):
    """A webhook notification and how its delivery went (never a secret in it)."""

    schema_name = "Notification"

    id: Annotated[str, doc("Also the `X-Regauth-Delivery` header of each attempt.")]
    event: Annotated[str, doc(example="token.expiring")]
    state: NotificationState
    token: Annotated[dict[str, Any], doc("The token it is about, as the payload names it.")]
    created_at: DateTime
    attempts: Annotated[int, doc("Attempts made so far.", minimum=0)]
    next_attempt_at: Annotated[
        DateTime | None, doc("When it is tried next; null once delivered or given up.")
    ]
    delivered_at: DateTime | None
    failed_at: Annotated[DateTime | None, doc("When it was given up (`max_attempts`).")]
    last_status: Annotated[
        int | None, doc("The receiver's HTTP status at the last attempt; null if none.")
    ]
    last_error: Annotated[
        str | None,
        doc("Why the last attempt failed: `HTTP 500`, `timeout`, `cannot connect`, ..."),
    ]

    @classmethod
    def of(cls, n: Notification) -> NotificationView:
        pending = n.state is NotificationState.PENDING
        return cls(
            id=n.id,
            event=n.event,
            state=n.state,
            token=n.subject,
            created_at=rfc3339(n.created_at),
            attempts=n.attempts,
            next_attempt_at=rfc3339(n.next_attempt_at) if pending else None,
            delivered_at=rfc3339(n.delivered_at),
            failed_at=rfc3339(n.failed_at),
            last_status=n.last_status,
            last_error=n.last_error,
        )


class NotificationList(Response):
    notifications: Annotated[list[NotificationView], doc("Newest first.")]
