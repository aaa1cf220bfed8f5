"""What every model shares: the base class of each kind of model, field types, field docs.

Request models check types, required fields and enumerated values; the rules a service checks
for the CLI as much as for HTTP (name syntax, lengths after trimming, password length) stay in
the service, so the two adapters cannot drift, and appear in the document through
`extra_json_schema` only (`doc(..., maxLength=100)`).
"""

from __future__ import annotations

from typing import Annotated, Any, ClassVar

import msgspec
from msgspec import Meta

_NO_EXAMPLE: Any = object()
ADDITION = "regauth addition (not in Docker Hub's schema)."


class Model(msgspec.Struct, kw_only=True):
    # The component's name in the OpenAPI document when it is not the class's: Docker Hub's
    # schema names (`accessToken`, `createAccessTokenRequest`) are kept for its routes.
    schema_name: ClassVar[str | None] = None


class Request(Model):
    """A JSON body under `/v2`. Unknown fields are ignored: clients written for Docker Hub send
    its whole request shapes (and the Hub ignores what it does not know), and the Hub's API
    grows. `null` is read as an absent field, as it always was (`field()` did so)."""


class AdminRequest(Request, forbid_unknown_fields=True):
    """A JSON body under `/admin/v1`, regauth's own API: an unknown field is a 400 naming it.
    A misspelt field in an admin change (`{"disabled": true, "admn": false}`) must not pass
    for a change that was made."""


class Query(Model):
    """A route's query parameters; read by `handlers/common.query_model` with the strict
    parsers of `decoding` (ASCII digits in range, Go's booleans, one of the enumerated values).
    Parameters a route does not know are ignored, as HTTP clients expect."""


class Response(Model):
    """A JSON response body; every field is always sent (`null` where there is no value)."""


class NoContent(Model):
    """The answer of a route that has nothing to say: an empty `204`."""


NO_CONTENT = NoContent()


def doc(
    description: str | None = None,
    *,
    example: Any = _NO_EXAMPLE,
    addition: bool = False,
    **schema: Any,
) -> Meta:
    """A field's documentation: its description, one example, and further OpenAPI keywords
    (`format`, documented constraints, `enum` for a `str` the handler checks itself).
    `addition` marks a field regauth adds to a Docker Hub shape."""
    if addition:
        description = f"{description} {ADDITION}" if description else ADDITION
        schema["x-regauth-addition"] = True
    examples = None if example is _NO_EXAMPLE else [example]
    return Meta(description=description, examples=examples, extra_json_schema=schema or None)


DateTime = Annotated[str, doc(format="date-time", example="2027-01-15T08:00:00Z")]
Uuid = Annotated[str, doc(format="uuid", example="b30bbf97-506c-4ecd-aabc-842f3cb484fb")]
# Docker Hub's pagination links: the next or previous page's URL, null at either end.
NEXT = doc("URL of the next page; null on the last page.", example=None)
PREVIOUS = doc("URL of the previous page; null on the first.", example=None)


class PageQuery(Query):
    """Docker Hub's pagination of a list."""

    page: Annotated[int, Meta(ge=1, le=100_000), doc("Page number, from 1.")] = 1
    page_size: Annotated[int, Meta(ge=1, le=100), doc("Items per page.")] = 10


# A credential's lists, the same words wherever one is shown or made (null: no list).
REPOSITORIES = (
    "A fine-grained token: the only repositories it reaches, as names and "
    "`namespace/prefix/*` patterns (`acme/ci/*`: every repository below `acme/ci/`, at any "
    "depth), at most 50. Within them it may still do only what its owner may and its access "
    "level allows; any other repository gets nothing. Null: every repository its owner may "
    "reach."
)
ALLOW_FROM = (
    "A network-bound credential: the client networks (CIDRs; a single address is a /32 or "
    "/128) it may be used from, at most 50. From any other address, as `[server] "
    "trusted_proxies` determines it, it is refused with a 401 `token not allowed from "
    "<address>`, counted as a failed sign-in. Null: anywhere."
)
