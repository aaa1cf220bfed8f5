"""The registry's realm (`/token`, GET and the OAuth2 form), `/healthz` and the error body."""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, UnsetType

from regauth.http.models.base import DateTime, Query, Request, Response, doc


# Read by hand in `token.get_token`, as `OAuthTokenRequest` below.
class RegistryTokenQuery(Query):
    """The query of `GET /token`, as registries' clients send it."""

    service: Annotated[
        str | None,
        doc(
            "The registry the token is for; becomes the JWT `aud`. Omitted or empty: the first "
            "configured service. A service that is not configured is a 400.",
            example="registry",
        ),
    ] = None
    scope: Annotated[
        list[str],
        doc(
            "Repeatable. `type[(class)]:name:actions`, e.g. `repository:team/app:pull,push` or "
            "`registry:catalog:*`; one parameter may also hold several scopes separated by "
            "spaces. Scopes that do not parse are ignored, never an error. No scope (as at "
            "`docker login`): a token with empty access.",
            example=["repository:team/app:pull,push"],
        ),
    ] = []
    account: Annotated[
        str | None,
        doc(
            "The Basic-auth username, as docker and skopeo send it. If given with credentials "
            "it must equal their username (else 400)."
        ),
    ] = None
    client_id: Annotated[
        str | None,
        doc(
            "Free-form client name (docker sends `docker`); it labels the session token made "
            "for `offline_token=true`."
        ),
    ] = None
    offline_token: Annotated[
        bool,
        doc(
            "`true`: also return a `refresh_token` when the caller signed in with the password "
            "(a new session token) or with a session token (the same one back); nothing is "
            "added for a personal access token or an anonymous caller. Spelled as Go's "
            "`strconv.ParseBool` reads it (`true`/`false`, `1`/`0`, `t`/`f`, any case); anything "
            "else is a 400."
        ),
    ] = False


# `token.post_token` reads the form by hand (the hot path): this model documents it, and
# tests/http/test_models.py holds the two together.
class OAuthTokenRequest(Request):
    """The OAuth2 form (distribution `docs/spec/auth/oauth.md`). Unrecognised fields are
    ignored (RFC 6749 §3.2)."""

    grant_type: Annotated[
        str,
        doc(
            "`password` or `refresh_token`; any other is a 400 with "
            "`error: unsupported_grant_type`.",
            enum=["password", "refresh_token"],
        ),
    ]
    username: Annotated[str | UnsetType, doc("With `password`.")] = UNSET
    password: Annotated[
        str | UnsetType, doc("With `password`: a personal access token, or the account password.")
    ] = UNSET
    refresh_token: Annotated[
        str | UnsetType, doc("With `refresh_token`: a session token (`rgs_...`).")
    ] = UNSET
    service: Annotated[
        str | UnsetType, doc("As for GET; empty means the first configured service.")
    ] = UNSET
    scope: Annotated[
        str | UnsetType,
        doc(
            "Scopes separated by spaces.",
            example="repository:team/app:pull,push repository:team/base:pull",
        ),
    ] = UNSET
    client_id: Annotated[
        str | UnsetType, doc("Free-form client name; labels a new session token.")
    ] = UNSET
    access_type: Annotated[
        str | UnsetType,
        doc(
            "`offline`: also return a `refresh_token` (a new one after a password, the same one "
            "after a refresh grant); `online` or empty: not.",
            enum=["online", "offline"],
        ),
    ] = UNSET


class RegistryTokenResponse(Response):
    """Docker token authentication's response (distribution `docs/spec/auth/token.md`)."""

    token: Annotated[
        str,
        doc("The registry JWT (ES256 or RS256; `aud` = the service; `access` = what was granted)."),
    ]
    access_token: Annotated[str, doc("The same JWT, under the OAuth2 name.")]
    expires_in: Annotated[
        int,
        doc("Seconds the token lives (`token.ttl_seconds`, default 300).", example=300, minimum=60),
    ]
    issued_at: Annotated[
        DateTime, doc("When it was issued, RFC 3339 UTC; `expires_in` counts from here.")
    ]
    refresh_token: Annotated[
        str | UnsetType,
        doc(
            "Only for offline access (`offline_token=true`, `access_type=offline`) after a "
            "password or session-token sign-in: a session token (`rgs_...`), which docker "
            "stores as its identity token instead of the password. It carries the user's full "
            "rights, expires after `limits.session_token_days` (default 30), the account keeps "
            "the newest `limits.session_tokens_per_account` (default 5), and a password reset "
            "ends them all."
        ),
    ] = UNSET


class OAuthTokenResponse(RegistryTokenResponse, kw_only=True):
    """The token-auth response with the granted scopes."""

    scope: Annotated[
        str,
        doc(
            "The granted scopes, separated by spaces (empty if nothing was granted).",
            example="repository:team/app:pull,push",
        ),
    ]


class Health(Response):
    """What `/healthz` answers while the process serves and its database answers."""

    status: Literal["ok"]
