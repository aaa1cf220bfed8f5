"""The model boundary's pure parts: a JSON object or a query as its model (a 400 naming the
field), and the models' schemas in OpenAPI 3.0's dialect."""

from __future__ import annotations

from typing import Any

import pytest
from multidict import MultiDict

from regauth.domain.models import TokenState, Visibility
from regauth.errors import BadRequest
from regauth.http.decoding import query_reader, to_model
from regauth.http.models.account import CreateAccessTokenRequest
from regauth.http.models.admin import PatchUserRequest, SetVisibilityRequest, TokenSearch
from regauth.http.models.org_tokens import CreateOrgAccessTokenRequest
from regauth.http.models.orgs import SetGroupPermissionRequest
from regauth.http.openapi.schemas import to_oas30

RESOURCE = {"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull"]}


@pytest.mark.parametrize(
    ("model", "body", "message", "fields"),
    [
        # body -> the message and `fields` of the 400
        (CreateAccessTokenRequest, {"scopes": ["repo:read"]}, "field 'token_label' is required", {"token_label": "required"}),
        # null is an absent field, as regauth always read bodies
        (CreateAccessTokenRequest, {"token_label": None, "scopes": []}, "field 'token_label' is required", {"token_label": "required"}),
        (CreateAccessTokenRequest, {"token_label": 5, "scopes": []}, "field 'token_label' must be a string, not an integer", {"token_label": "invalid"}),
        (CreateAccessTokenRequest, {"token_label": "x", "scopes": "repo:read"}, "field 'scopes' must be an array, not a string", {"scopes": "invalid"}),
        (CreateAccessTokenRequest, {"token_label": "x", "scopes": [True]}, "field 'scopes[0]' must be a string, not a boolean", {"scopes[0]": "invalid"}),
        (PatchUserRequest, {"admin": "yes"}, "field 'admin' must be a boolean, not a string", {"admin": "invalid"}),
        (PatchUserRequest, {"admin": 1}, "field 'admin' must be a boolean, not an integer", {"admin": "invalid"}),
        # the client's value is not repeated; the allowed ones are listed
        (SetVisibilityRequest, {"visibility": "secret"}, "field 'visibility' must be one of: public, private", {"visibility": "invalid"}),
        (SetGroupPermissionRequest, {"pattern": "app", "permission": "owner"}, "field 'permission' must be one of: admin, none, read, write", {"permission": "invalid"}),
        # in a list of objects: where exactly
        (CreateOrgAccessTokenRequest, {"label": "x", "resources": [RESOURCE, {**RESOURCE, "path": 7}]}, "field 'resources[1].path' must be a string, not an integer", {"resources[1].path": "invalid"}),
        (CreateOrgAccessTokenRequest, {"label": "x", "resources": [{"type": "TYPE_REPO", "scopes": []}]}, "field 'resources[0].path' is required", {"resources[0].path": "required"}),
        # /admin/v1 takes no unknown field; a strange name is not repeated
        (PatchUserRequest, {"disabled": True, "admn": False}, "field 'admn' is not a field here", {"admn": "unknown"}),
        (PatchUserRequest, {"disabled": True, "a b\n": 1}, "the body has a field with an unusual name that is not a field here", None),
    ],
)  # fmt: skip
def test_a_body_that_does_not_fit_names_the_field(
    model: type[Any], body: dict[str, Any], message: str, fields: dict[str, str] | None
) -> None:
    with pytest.raises(BadRequest) as info:
        to_model(body, model)
    assert info.value.message == message
    assert info.value.fields == ({"fields": fields} if fields else {})


def test_a_body_that_fits_is_its_model() -> None:
    # /v2 ignores what it does not know; null means absent.
    body = {"token_label": "ci", "scopes": ["repo:read"], "expires_at": None, "future": 1}
    assert to_model(body, CreateAccessTokenRequest) == CreateAccessTokenRequest(
        token_label="ci", scopes=["repo:read"], expires_at=None
    )
    visibility = to_model({"visibility": "public"}, SetVisibilityRequest).visibility
    assert visibility is Visibility.PUBLIC


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ([], TokenSearch()),
        ([("state", "active"), ("kind", "auto"), ("limit", "5"), ("user", "bob")],
         TokenSearch(state=TokenState.ACTIVE, kind="auto", limit=5, user="bob")),
        ([("limit", "0")], "query parameter 'limit' must be between 1 and 1000"),
        ([("limit", "\u0661")], "query parameter 'limit' must be an integer"),  # other scripts' digits
        ([("since_unknown", "x"), ("offset", "1_0")], "query parameter 'offset' must be an integer"),
        ([("state", "revoked")], "state must be one of: active, expired, inactive"),
        ([("user", "\ufffd")], "query parameter 'user' is not valid UTF-8"),  # yarl's %ff
    ],
)  # fmt: skip
def test_a_query_is_read_into_its_model(
    query: list[tuple[str, str]], expected: TokenSearch | str
) -> None:
    read = query_reader(TokenSearch)
    if isinstance(expected, TokenSearch):
        assert read(MultiDict(query)) == expected
        return
    with pytest.raises(BadRequest) as info:
        read(MultiDict(query))
    assert info.value.message == expected
    (name,) = info.value.fields["fields"]
    assert name in expected


@pytest.mark.parametrize(
    ("schema", "oas30"),
    [
        # JSON Schema 2020-12 (what msgspec writes) -> OpenAPI 3.0
        ({"anyOf": [{"type": "string"}, {"type": "null"}], "default": None}, {"type": "string", "nullable": True}),
        ({"description": "d", "anyOf": [{"$ref": "#/x"}, {"type": "null"}]}, {"allOf": [{"$ref": "#/x"}], "description": "d", "nullable": True}),
        ({"$ref": "#/x", "description": "d"}, {"allOf": [{"$ref": "#/x"}], "description": "d"}),
        ({"examples": ["a"], "examples_kept": 1}, {"example": "a", "examples_kept": 1}),
        ({"const": "ok"}, {"enum": ["ok"], "type": "string"}),
        ({"enum": ["a", "b"]}, {"enum": ["a", "b"], "type": "string"}),
        ({"type": "object", "title": "Name", "required": []}, {"type": "object"}),
        # a field's own description and example win over its type's
        ({"example_of": 1, "examples": [None], "anyOf": [{"type": "string", "examples": ["t"]}, {"type": "null"}]},
         {"type": "string", "example": None, "example_of": 1, "nullable": True}),
    ],
)  # fmt: skip
def test_schemas_are_rewritten_for_openapi_3_0(
    schema: dict[str, Any], oas30: dict[str, Any]
) -> None:
    assert to_oas30(schema) == oas30
