"""The error body every route answers with: `errors.RegauthError.body()`, as a model.

`errors.py` renders the body (it sits below every layer and stays free of msgspec); this model
documents it, and the OpenAPI tests check every error answered against it. The enumerations
are read from the error classes, so a new error code is documented when it is declared.
"""

from __future__ import annotations

from typing import Annotated, Literal

from msgspec import UNSET, UnsetType

from regauth import errors
from regauth.http.models.base import Response, doc

# What `fields` says of a body field or query parameter.
FieldProblem = Literal["required", "invalid", "unknown"]


def _subclasses(cls: type[errors.RegauthError]) -> list[type[errors.RegauthError]]:
    return [cls, *(s for sub in cls.__subclasses__() for s in _subclasses(sub))]


# ConfigError (and its kinds, such as runtime.MissingData) stops start-up or a CLI command: it
# is never an answer.
_ANSWERED = [c for c in _subclasses(errors.RegauthError) if not issubclass(c, errors.ConfigError)]
CODES = sorted({c.code for c in _ANSWERED})
OAUTH_ERRORS = sorted({c.oauth_error for c in _ANSWERED if c.oauth_error})
_MESSAGE = doc(example="incorrect username or password")


class ErrorEntry(Response):
    code: Annotated[str, doc(enum=CODES)]
    message: str


class Error(Response):
    """Every error, on every route. The same message is given under several names so each kind
    of client finds it: `details` (what docker prints), `detail` and `message` (Docker Hub's API
    `Error`), `errors` (the OCI/distribution error list)."""

    details: Annotated[str, _MESSAGE]
    detail: Annotated[str, _MESSAGE]
    message: Annotated[str, _MESSAGE]
    errors: Annotated[list[ErrorEntry], doc(minItems=1, maxItems=1)]
    error: Annotated[
        str | UnsetType,
        doc(
            "OAuth2 error code (RFC 6749 §5.2): on every 400 (`invalid_request`, "
            "`unsupported_grant_type`), 401 (`invalid_grant`), 413 and 415 (`invalid_request`) "
            "and 429 (`slow_down`).",
            enum=OAUTH_ERRORS,
        ),
    ] = UNSET
    error_description: Annotated[str | UnsetType, doc("The message again, with `error`.")] = UNSET
    fields: Annotated[
        dict[str, FieldProblem] | UnsetType,
        doc(
            "On a 400 about a body field or a query parameter: where it is (`token_label`, "
            "`resources[1].scopes[0]`), and whether it was missing, of the wrong type or value, "
            "or not a field the route takes (`/admin/v1` only).",
            example={"token_label": "required"},
        ),
    ] = UNSET
    login_2fa_token: Annotated[
        str | UnsetType,
        doc(
            "On the 401 of a password sign-in to an account with two-factor authentication: the "
            "ticket for `/v2/users/2fa-login` (Docker Hub's `PostUsersLoginErrorResponse`)."
        ),
    ] = UNSET
