"""What the document says that no route or model does: its introduction, the tags, the security
schemes, and the answers many routes share."""

from __future__ import annotations

from typing import Any

from regauth.http.decoding import MAX_JSON_DEPTH

TITLE = "regauth"
LICENSE = {"name": "Apache-2.0", "url": "https://www.apache.org/licenses/LICENSE-2.0"}
DESCRIPTION = """\
Token-auth gateway for OCI/Docker registries with Docker-Hub-style personal access tokens.

- **`/token`**: the realm registries point clients at (Docker token authentication, GET and \
OAuth2 POST).
- **`/v2/...`**: self-service sign-in, personal access tokens, account security, and \
organizations (members, groups, organization access tokens). The routes Docker Hub also has keep \
its operation and schema names and shapes (from Docker Hub's published OpenAPI description); \
regauth's extra fields, and its operations Docker Hub does not have, are marked \
`x-regauth-addition`. Unknown fields in their request bodies are ignored, as Docker Hub does.
- **`/admin/v1/...`**: administration, for admin users' password sessions and admin API keys. \
An unknown field in a request body is a 400 that names it.

Every response carries `X-Request-Id` (the client's, if it sent a sane one). JSON responses \
carry `Cache-Control: no-store`. Request bodies are limited to 64 KiB (413). A body field or \
query parameter that does not fit is a 400 naming it in `fields`; a `null` field is read as an \
absent one. An unknown path is a 404 and a wrong method a 405, both with the `Error` body.

This document is generated from the route table and the models \
(`python -m regauth.http.openapi`)."""

TAGS = [
    ("registry-auth", "Docker token authentication: the registry's realm."),
    ("authentication", "Docker Hub's sign-in routes: a session for the API."),
    ("access-tokens", "Docker Hub's personal access token routes, for the caller's own tokens."),
    (
        "account",
        "Account security: two-factor authentication, the account's audit trail, "
        "leaked-credential reports.",
    ),
    (
        "org-access-tokens",
        "Docker Hub's organization access token routes: tokens an organization owns, limited to "
        "the repositories they list. Sign in at `/token` with the organization's name as the "
        "username and the token as the password.",
    ),
    (
        "orgs",
        "Docker Hub's organization member routes, and (regauth addition) repository visibility "
        "for a namespace's owners.",
    ),
    (
        "groups",
        "Docker Hub's organization group (team) routes, and (regauth addition) a group's "
        "repository permissions.",
    ),
    (
        "admin",
        "Administration: users, all tokens, repository visibility, organizations, audit log, "
        "explain.",
    ),
    ("service", "Health and this document."),
]

SECURITY_SCHEMES: dict[str, dict[str, Any]] = {
    "session": {
        "type": "http",
        "scheme": "bearer",
        "bearerFormat": "JWT",
        "description": "A session JWT from `POST /v2/users/login` (`token`), "
        "`POST /v2/users/2fa-login` (`token`) or `POST /v2/auth/token` (`access_token`). Opened "
        "with the password, it may manage the account (and, for an admin user, use "
        "`/admin/v1`); opened with a personal access token it may only read. "
        "`Authorization: JWT <token>` (Docker Hub's older scheme name) is accepted too.",
    },
    "adminKey": {
        "type": "http",
        "scheme": "bearer",
        "description": "An admin API key (`rga_...`, made with the CLI), for `/admin/v1` only. A "
        "personal access token is never accepted as a bearer token: sign in with it first.",
    },
    "basic": {
        "type": "http",
        "scheme": "basic",
        "description": "Only `/token` takes Basic: see its description for the secrets it accepts.",
    },
}

HEADERS: dict[str, dict[str, Any]] = {
    "WWW-Authenticate": {
        "description": '`Basic realm="regauth"` on every 401.',
        "schema": {"type": "string", "example": 'Basic realm="regauth"'},
    },
    "Retry-After": {
        "description": "Seconds to wait before trying again.",
        "schema": {"type": "integer", "minimum": 1},
    },
    "Accept-Encoding": {
        "description": "The content codings regauth undoes on a request body.",
        "schema": {"type": "string", "example": "gzip, deflate"},
    },
}
# The header an error answer of this status always carries.
ERROR_HEADERS = {401: "WWW-Authenticate", 415: "Accept-Encoding", 429: "Retry-After"}

# status -> (component name, description) of the answers many routes share.
SHARED_ANSWERS = {
    400: (
        "BadRequest",
        "The request is malformed: a header, query value or form that is not valid UTF-8 (an "
        "Authorization header that is not ASCII), a body that is not valid JSON (RFC 8259: "
        f"UTF-8, no NaN, no lone surrogates, at most {MAX_JSON_DEPTH} levels deep) or not an "
        "object, a body that is not valid in its `Content-Encoding`, a missing or mistyped body "
        "field or one not among its values (named in `fields`), a query parameter that is out "
        "of range or not one of its values (named in `fields`), or a value the rules refuse.",
    ),
    401: ("Unauthorized", "No credentials, or wrong, expired or revoked ones."),
    403: (
        "Forbidden",
        "Authenticated but not allowed: a session opened with a personal access token changing "
        "the account, an organization or a repository's visibility, or using the admin API; a "
        "non-admin on `/admin/v1`; an admin API key on account routes; a member who is not an "
        "owner changing an organization; or a caller changing a namespace that is not theirs.",
    ),
    404: (
        "NotFound",
        "No such object (or, on `/v2/access-tokens`, not the caller's; on `/v2/orgs`, an "
        "organization the caller is not a member of).",
    ),
    413: (
        "PayloadTooLarge",
        "The request body is over 64 KiB, as sent or once its content coding (gzip, deflate) "
        "is undone.",
    ),
    415: (
        "UnsupportedMediaType",
        "A `Content-Encoding` other than `gzip`, `deflate` or `identity` (one coding at most).",
    ),
    429: (
        "TooManyRequests",
        "Too many failed sign-ins from this address (for this username, or for any): wait "
        "`Retry-After` seconds. The wait doubles with each further failure, up to "
        "`limits.lockout_max_seconds`.",
    ),
}
