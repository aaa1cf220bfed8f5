"""Contract: regauth's Docker-Hub-shaped routes answer in the shapes Docker Hub documents.

The real app answers; each body is checked against the Hub's published schema (copied into
hub_schemas.py): every documented field present with the documented JSON type, null only where
the Hub allows it, a value from the documented `enum` where there is one. regauth's additional
fields are allowed, as they are for Hub clients. Where regauth departs from a published shape on
purpose (fields it has no data for, `next`/`previous` the Hub does not mark nullable), the test
names the departure exactly, so a new one fails.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

import pyotp
import pytest
from aiohttp import web
from aiohttp.test_utils import TestClient
from yarl import URL

from regauth.domain.models import CLI_ACTOR, AccessLevel, OrgRole
from regauth.http.app import create_app
from regauth.runtime import Runtime
from tests.http import hub_schemas as hub
from tests.support.builders import add_token, add_user, basic, sign_in
from tests.support.clock import FakeClock

Client = TestClient[web.Request, web.Application]

_JSON_TYPES: dict[str, tuple[type, ...]] = {
    "string": (str,),
    "boolean": (bool,),
    "number": (int, float),
    "integer": (int,),
    "array": (list,),
    "object": (dict,),
}


def mismatches(
    value: Any, schema: hub.Schema, *, where: str = "body", every_field: bool = True
) -> list[str]:
    """How `value` departs from a Hub schema; [] if it conforms.

    Missing fields count when the schema lists them as `required`, and, with `every_field`,
    whenever the schema documents them (what a Hub client may read without checking).
    """
    if "allOf" in schema:
        return [
            m
            for part in schema["allOf"]
            for m in mismatches(value, part, where=where, every_field=every_field)
        ]
    if value is None:
        if schema.get("nullable") or ("example" in schema and schema["example"] is None):
            return []
        return [f"{where} is null; the Hub documents {schema.get('type')}, not nullable"]
    kind = schema.get("type")
    if kind is not None:
        types = _JSON_TYPES[kind]
        if (isinstance(value, bool) and bool not in types) or not isinstance(value, types):
            return [f"{where} is {type(value).__name__} {value!r}; the Hub documents {kind}"]
    if "enum" in schema and value not in schema["enum"]:
        return [f"{where} is {value!r}; the Hub documents one of {schema['enum']}"]
    found: list[str] = []
    if kind == "array" and "items" in schema:
        for i, item in enumerate(value):
            found += mismatches(
                item, schema["items"], where=f"{where}[{i}]", every_field=every_field
            )
    properties: dict[str, hub.Schema] = schema.get("properties", {})
    must_have = set(properties) if every_field else set()
    must_have |= set(schema.get("required", ()))
    for name, sub in properties.items():
        if name in value:
            found += mismatches(value[name], sub, where=f"{where}.{name}", every_field=every_field)
        elif name in must_have:
            found.append(f"{where}.{name} is missing")
    return found


def conforms(value: Any, schema: hub.Schema, *, every_field: bool = True) -> None:
    problems = mismatches(value, schema, every_field=every_field)
    assert not problems, "\n".join(problems)


def departures(value: Any, schema: hub.Schema, *, every_field: bool = True) -> set[str]:
    """Each mismatch as `<where> is <what>` (the part before the explanation), for exact checks."""
    return {m.split(";")[0] for m in mismatches(value, schema, every_field=every_field)}


def error_conforms(body: Any, schema: hub.Schema) -> None:
    """Error bodies: the Hub marks no field required, but its clients print `detail`/`message`."""
    conforms(body, schema, every_field=False)
    assert isinstance(body.get("detail"), str) and body["detail"]
    assert isinstance(body.get("message"), str) and body["message"]


def is_rfc3339(value: str) -> bool:
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return False
    return moment.tzinfo is not None


@pytest.fixture
async def client(runtime: Runtime, aiohttp_client: Any) -> Client:
    # `runtime` first, so it is torn down last: the client's shutdown flushes into its database.
    add_user(runtime, "alice", "alice-password")
    add_user(runtime, "bob", "bob-password")
    return await aiohttp_client(create_app(runtime))  # type: ignore[no-any-return]


async def login(client: Client, username: str, password: str) -> dict[str, str]:
    request = {"username": username, "password": password}
    conforms(request, hub.USERS_LOGIN_REQUEST)
    return await sign_in(client, username, password)


async def create(client: Client, session: dict[str, str], **fields: Any) -> dict[str, Any]:
    request = {"token_label": "CI token", "scopes": ["repo:read"], **fields}
    conforms(request, hub.CREATE_ACCESS_TOKEN_REQUEST, every_field=False)
    response = await client.post("/v2/access-tokens", json=request, headers=session)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_users_login_returns_a_token(client: Client) -> None:
    response = await client.post(
        "/v2/users/login", json={"username": "alice", "password": "alice-password"}
    )
    assert response.status == 200
    assert response.content_type == "application/json"
    body = await response.json()
    conforms(body, hub.POST_USERS_LOGIN_SUCCESS_RESPONSE)
    assert body["token"]
    # "used in the HTTP Authorization header like `Authorization: Bearer {TOKEN}`"
    listed = await client.get(
        "/v2/access-tokens", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert listed.status == 200


async def test_users_login_accepts_a_personal_access_token(
    client: Client, runtime: Runtime
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ)
    session = await login(client, "alice", pat)
    assert (await client.get("/v2/access-tokens", headers=session)).status == 200


async def test_users_login_failure_has_a_detail(client: Client) -> None:
    response = await client.post(
        "/v2/users/login", json={"username": "alice", "password": "wrong-password"}
    )
    assert response.status == 401
    body = await response.json()
    conforms(body, hub.POST_USERS_LOGIN_ERROR_RESPONSE, every_field=False)
    error_conforms(body, hub.ERROR)


async def test_two_factor_sign_in_follows_the_hub_two_steps(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    alice = runtime.users.get("alice")
    totp = pyotp.TOTP(runtime.two_factor.enroll(alice, CLI_ACTOR).secret)
    runtime.two_factor.confirm(alice, CLI_ACTOR, totp.at(clock.now))
    clock.advance(30)  # each code is accepted once: the next step's code

    response = await client.post(
        "/v2/users/login", json={"username": "alice", "password": "alice-password"}
    )
    assert response.status == 401
    challenge = await response.json()
    # "This field is present only if 2FA is enabled": here it must be.
    conforms(challenge, hub.POST_USERS_LOGIN_ERROR_RESPONSE)
    error_conforms(challenge, hub.ERROR)

    wrong = {"login_2fa_token": challenge["login_2fa_token"], "code": "000000"}
    conforms(wrong, hub.USERS_2FA_LOGIN_REQUEST)
    response = await client.post("/v2/users/2fa-login", json=wrong)
    assert response.status == 401
    conforms(await response.json(), hub.POST_USERS_2FA_LOGIN_ERROR_RESPONSE)

    right = {**wrong, "code": totp.at(clock.now)}
    response = await client.post("/v2/users/2fa-login", json=right)
    assert response.status == 200
    body = await response.json()
    conforms(body, hub.POST_USERS_LOGIN_SUCCESS_RESPONSE)
    listed = await client.get(
        "/v2/access-tokens", headers={"Authorization": f"Bearer {body['token']}"}
    )
    assert listed.status == 200


async def test_auth_token_returns_an_access_token(client: Client) -> None:
    request = {"identifier": "alice", "secret": "alice-password"}
    conforms(request, hub.AUTH_CREATE_ACCESS_TOKEN_REQUEST)
    response = await client.post("/v2/auth/token", json=request)
    assert response.status == 200
    body = await response.json()
    conforms(body, hub.AUTH_CREATE_TOKEN_RESPONSE)
    listed = await client.get(
        "/v2/access-tokens", headers={"Authorization": f"Bearer {body['access_token']}"}
    )
    assert listed.status == 200


async def test_auth_token_failure_matches_the_hub_error(client: Client) -> None:
    response = await client.post(
        "/v2/auth/token", json={"identifier": "alice", "secret": "wrong-password"}
    )
    assert response.status == 401
    error_conforms(await response.json(), hub.ERROR_LOWERCASE)


async def test_create_returns_the_token_with_its_secret_once(client: Client) -> None:
    session = await login(client, "alice", "alice-password")
    # An expiry in the Hub's own example format (microseconds, Z).
    body = await create(
        client,
        session,
        token_label="My read only token",
        scopes=["repo:read"],
        expires_at="2027-10-28T18:30:19.520861Z",
    )
    conforms(body, hub.CREATE_ACCESS_TOKENS_RESPONSE)
    assert body["token"].startswith("rgp_")
    assert body["token_label"] == "My read only token"
    assert body["scopes"] == ["repo:read"]
    assert body["is_active"] is True
    assert body["generated_by"] == "manual"
    assert body["last_used"] is None
    assert is_rfc3339(body["created_at"])
    # The secret works where a Hub PAT does: as the password of a sign-in.
    assert await login(client, "alice", body["token"])


@pytest.mark.parametrize("scope", ["repo:admin", "repo:write", "repo:read", "repo:public_read"])
async def test_every_hub_scope_is_accepted_and_given_back(client: Client, scope: str) -> None:
    session = await login(client, "alice", "alice-password")
    body = await create(client, session, scopes=[scope])
    conforms(body, hub.CREATE_ACCESS_TOKENS_RESPONSE)
    assert body["scopes"] == [scope]


async def test_list_is_paginated_with_page_and_page_size(client: Client, runtime: Runtime) -> None:
    for n in range(3):
        add_token(runtime, "alice", description=f"token {n}")
    add_token(runtime, "bob")
    session = await login(client, "alice", "alice-password")
    listed = await (await client.get("/v2/access-tokens", headers=session)).json()
    deactivate = {"is_active": False}
    await client.patch(
        f"/v2/access-tokens/{listed['results'][0]['uuid']}", json=deactivate, headers=session
    )

    response = await client.get("/v2/access-tokens?page=1&page_size=2", headers=session)
    assert response.status == 200
    page1 = await response.json()
    conforms(page1, hub.GET_ACCESS_TOKENS_RESPONSE)
    assert (page1["count"], page1["active_count"], len(page1["results"])) == (3, 2, 2)
    assert page1["previous"] is None
    assert all(item["token"] == "" for item in page1["results"])

    # `next` is a URL the client follows as it is.
    response = await client.get(URL(page1["next"]).path_qs, headers=session)
    page2 = await response.json()
    conforms(page2, hub.GET_ACCESS_TOKENS_RESPONSE)
    assert (page2["count"], len(page2["results"])) == (3, 1)
    assert page2["next"] is None
    assert isinstance(page2["previous"], str)
    uuids = {item["uuid"] for item in page1["results"] + page2["results"]}
    assert len(uuids) == 3  # bob's token is not alice's to see


async def test_list_defaults_to_the_first_page(client: Client, runtime: Runtime) -> None:
    session = await login(client, "alice", "alice-password")
    body = await (await client.get("/v2/access-tokens", headers=session)).json()
    conforms(body, hub.GET_ACCESS_TOKENS_RESPONSE)
    hub_fields = {name: body[name] for name in hub.GET_ACCESS_TOKENS_RESPONSE["properties"]}
    assert hub_fields == {
        "count": 0,
        "next": None,
        "previous": None,
        "active_count": 0,
        "results": [],
    }


async def test_get_never_shows_the_secret_again(client: Client) -> None:
    session = await login(client, "alice", "alice-password")
    created = await create(client, session)
    response = await client.get(f"/v2/access-tokens/{created['uuid']}", headers=session)
    assert response.status == 200
    body = await response.json()
    conforms(body, hub.ACCESS_TOKEN_WITHOUT_SECRET)
    assert body["token"] == ""
    assert {k: v for k, v in body.items() if k != "token"} == {
        k: v for k, v in created.items() if k != "token"
    }


async def test_patch_changes_label_and_activity(client: Client) -> None:
    session = await login(client, "alice", "alice-password")
    created = await create(client, session)
    for request, field, expected in [
        ({"is_active": False}, "is_active", False),
        ({"token_label": "renamed"}, "token_label", "renamed"),
        ({"is_active": True, "token_label": "both"}, "token_label", "both"),
    ]:
        conforms(request, hub.PATCH_ACCESS_TOKEN_REQUEST, every_field=False)
        response = await client.patch(
            f"/v2/access-tokens/{created['uuid']}", json=request, headers=session
        )
        assert response.status == 200, await response.text()
        body = await response.json()
        conforms(body, hub.PATCH_ACCESS_TOKEN_RESPONSE)
        assert body[field] == expected
        assert body["token"] == ""


async def test_delete_answers_204_then_the_token_is_gone(client: Client) -> None:
    session = await login(client, "alice", "alice-password")
    created = await create(client, session)
    response = await client.delete(f"/v2/access-tokens/{created['uuid']}", headers=session)
    assert response.status == 204
    assert await response.read() == b""
    gone = await client.get(f"/v2/access-tokens/{created['uuid']}", headers=session)
    assert gone.status == 404
    error_conforms(await gone.json(), hub.ERROR)


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/access-tokens"),
        ("POST", "/v2/access-tokens"),
        ("GET", "/v2/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb"),
        ("PATCH", "/v2/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb"),
        ("DELETE", "/v2/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb"),
    ],
)
async def test_access_token_routes_need_a_bearer_token(
    client: Client, method: str, path: str
) -> None:
    response = await client.request(method, path, headers=basic("alice", "alice-password"))
    assert response.status == 401
    error_conforms(await response.json(), hub.ERROR)


async def test_a_bad_request_matches_the_hub_value_error(client: Client) -> None:
    session = await login(client, "alice", "alice-password")
    response = await client.post(
        "/v2/access-tokens",
        json={"token_label": "x", "scopes": ["repo:everything"]},
        headers=session,
    )
    assert response.status == 400
    body = await response.json()
    conforms(body, hub.VALUE_ERROR, every_field=False)
    assert body["fields"] == {"scopes": "invalid"}
    error_conforms(body, hub.ERROR)


# --- Organizations -----------------------------------------------------------------------------
# acme: olivia owns it, dave is a member; bob is not in it.

RESOURCES = [
    {"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull", "scope-image-push"]},
    {"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["scope-image-pull"]},
]
# The Hub publishes the pagination links without `nullable`; regauth sends null at either end.
NO_PREVIOUS, NO_NEXT = "body.previous is null", "body.next is null"
# regauth keeps no profiles, e-mail addresses or insights: what it cannot send of the Hub's user.
PROFILE = {"company", "date_joined", "full_name", "gravatar_email", "gravatar_url", "location"}
PROFILE |= {"profile_url", "email"}
ORG_MEMBER_NOT_SENT = PROFILE | {"is_guest", "primary_email"}
ORG_MEMBER_NOT_SENT |= {"last_logged_in_at", "last_seen_at", "last_desktop_version"}
GROUP_MEMBER_NOT_SENT = PROFILE


def not_sent(fields: set[str], where: str = "body") -> set[str]:
    return {f"{where}.{name} is missing" for name in fields}


@pytest.fixture
async def owner(client: Client, runtime: Runtime) -> dict[str, str]:
    """olivia's password session; acme exists, with dave as a member."""
    add_user(runtime, "olivia", "olivia-password")
    add_user(runtime, "dave", "dave-password")
    org = runtime.organizations.create("acme", runtime.users.get("olivia"), CLI_ACTOR)
    runtime.organizations.set_member(org, runtime.users.get("dave"), OrgRole.MEMBER, CLI_ACTOR)
    return await login(client, "olivia", "olivia-password")


async def create_org_token(client: Client, owner: dict[str, str], **fields: Any) -> dict[str, Any]:
    request = {"label": "CI token", "resources": RESOURCES, **fields}
    conforms(request, hub.CREATE_ORG_ACCESS_TOKEN_REQUEST, every_field=False)
    response = await client.post("/v2/orgs/acme/access-tokens", json=request, headers=owner)
    assert response.status == 201, await response.text()
    body: dict[str, Any] = await response.json()
    return body


async def test_org_token_create_returns_the_hub_shape_with_the_secret(
    client: Client, owner: dict[str, str]
) -> None:
    request = {
        "label": "My organization token",
        "description": "Token for CI/CD pipeline",
        "resources": RESOURCES,
        "expires_at": "2027-05-20T00:54:18Z",  # the Hub's example format
    }
    conforms(request, hub.CREATE_ORG_ACCESS_TOKEN_REQUEST)
    body = await create_org_token(client, owner, **request)
    conforms(body, hub.CREATE_ORG_ACCESS_TOKEN_RESPONSE)
    assert body["label"] == "My organization token"
    assert body["created_by"] == "olivia"
    assert body["is_active"] is True
    assert body["expires_at"] == "2027-05-20T00:54:18Z"
    assert body["last_used_at"] is None
    assert is_rfc3339(body["created_at"])
    assert body["resources"] == RESOURCES
    assert body["token"].startswith("rgo_")  # the Hub's are dckr_oat_...
    # The secret works as the Hub's does: the organization's name and the token.
    granted = await client.get(
        "/token?service=registry&scope=repository:acme/app:pull",
        headers=basic("acme", body["token"]),
    )
    assert granted.status == 200


async def test_org_token_scopes_in_the_hub_example_spelling_come_back_as_scope_image(
    client: Client, owner: dict[str, str]
) -> None:
    # The Hub's orgAccessTokenResource example says "repo-pull"; regauth accepts it and answers
    # with the scope-image-* names (both are plain strings to the published schema).
    resources = [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["repo-pull", "repo-push"]}]
    body = await create_org_token(client, owner, resources=resources)
    conforms(body, hub.CREATE_ORG_ACCESS_TOKEN_RESPONSE)
    assert body["resources"][0]["scopes"] == ["scope-image-pull", "scope-image-push"]


async def test_org_token_list_is_paginated_like_the_hub(
    client: Client, owner: dict[str, str]
) -> None:
    for n in range(3):
        await create_org_token(client, owner, label=f"token {n}")
    pages = []
    url = "/v2/orgs/acme/access-tokens?page_size=1"
    while url:
        response = await client.get(url, headers=owner)
        assert response.status == 200
        page = await response.json()
        pages.append(page)
        url = URL(page["next"]).path_qs if page["next"] else ""
    assert [p["total"] for p in pages] == [3, 3, 3]
    assert [departures(p, hub.GET_ORG_ACCESS_TOKENS_RESPONSE) for p in pages] == [
        {NO_PREVIOUS},
        set(),
        {NO_NEXT},
    ]
    assert all("token" not in item for p in pages for item in p["results"])
    assert len({p["results"][0]["id"] for p in pages}) == 3


async def test_org_token_get_and_update_answer_in_the_hub_shapes(
    client: Client, owner: dict[str, str]
) -> None:
    created = await create_org_token(client, owner)
    url = f"/v2/orgs/acme/access-tokens/{created['id']}"
    response = await client.get(url, headers=owner)
    assert response.status == 200
    body = await response.json()
    conforms(body, hub.GET_ORG_ACCESS_TOKEN_RESPONSE)
    assert body == {k: v for k, v in created.items() if k != "token"}
    one_repository = [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull"]}]
    for request, field, expected in [
        ({"is_active": False}, "is_active", False),
        ({"label": "renamed"}, "label", "renamed"),
        ({"resources": one_repository}, "resources", one_repository),
        ({"is_active": True, "label": "all", "resources": RESOURCES}, "resources", RESOURCES),
    ]:
        conforms(request, hub.UPDATE_ORG_ACCESS_TOKEN_REQUEST, every_field=False)
        response = await client.patch(url, json=request, headers=owner)
        assert response.status == 200, await response.text()
        body = await response.json()
        conforms(body, hub.UPDATE_ORG_ACCESS_TOKEN_RESPONSE)
        assert body[field] == expected
        assert "token" not in body


async def test_org_token_update_changes_the_description(
    client: Client, owner: dict[str, str]
) -> None:
    created = await create_org_token(client, owner, description="before")
    request = {"description": "after"}
    conforms(request, hub.UPDATE_ORG_ACCESS_TOKEN_REQUEST, every_field=False)
    response = await client.patch(
        f"/v2/orgs/acme/access-tokens/{created['id']}", json=request, headers=owner
    )
    assert response.status == 200, await response.text()
    assert (await response.json())["description"] == "after"


async def test_org_token_text_a_terminal_would_act_on_is_refused(
    client: Client, owner: dict[str, str]
) -> None:
    """`regauth org token list` and `show` print labels and descriptions in a terminal."""
    url = "/v2/orgs/acme/access-tokens"
    for bad in ({"label": "ci\x1b[2J"}, {"description": "pipeline\u009b31m"}):
        request = {"label": "CI token", "resources": RESOURCES, **bad}
        response = await client.post(url, json=request, headers=owner)
        assert response.status == 400
        assert "must not contain control characters" in (await response.json())["detail"]
    assert (await (await client.get(url, headers=owner)).json())["total"] == 0
    created = await create_org_token(client, owner, description="pipeline")
    response = await client.patch(
        f"{url}/{created['id']}", json={"description": "\u202eenilepip"}, headers=owner
    )
    assert response.status == 400
    shown = await (await client.get(f"{url}/{created['id']}", headers=owner)).json()
    assert shown["description"] == "pipeline"


async def test_org_token_delete_answers_204_then_it_is_gone(
    client: Client, owner: dict[str, str]
) -> None:
    created = await create_org_token(client, owner)
    url = f"/v2/orgs/acme/access-tokens/{created['id']}"
    response = await client.delete(url, headers=owner)
    assert response.status == 204
    assert await response.read() == b""
    gone = await client.get(url, headers=owner)
    assert gone.status == 404
    error_conforms(await gone.json(), hub.ERROR)


async def test_org_token_errors_match_the_hub_shapes(client: Client, owner: dict[str, str]) -> None:
    dave = await login(client, "dave", "dave-password")
    url = "/v2/orgs/acme/access-tokens"
    for headers, status in [({}, 401), (basic("olivia", "olivia-password"), 401), (dave, 403)]:
        response = await client.get(url, headers=headers)
        assert response.status == status
        error_conforms(await response.json(), hub.ERROR)
    bad = {"label": "x", "resources": [{"type": "TYPE_ORG", "path": "acme", "scopes": []}]}
    response = await client.post(url, json=bad, headers=owner)
    assert response.status == 400
    body = await response.json()
    conforms(body, hub.VALUE_ERROR, every_field=False)
    error_conforms(body, hub.ERROR)


async def test_org_members_list_is_one_org_member_paginated(
    client: Client, owner: dict[str, str]
) -> None:
    # The Hub documents this 200 as an array of org_member_paginated; regauth answers with one.
    dave = await login(client, "dave", "dave-password")
    response = await client.get("/v2/orgs/acme/members", headers=dave)  # members may read
    assert response.status == 200
    body = await response.json()
    assert departures(body, hub.ORG_MEMBER_PAGINATED, every_field=False) == {NO_PREVIOUS, NO_NEXT}
    assert body["count"] == len(body["results"]) == 2
    for member in body["results"]:
        assert departures(member, hub.ORG_MEMBER) == not_sent(ORG_MEMBER_NOT_SENT)
    assert [(m["username"], m["role"], m["type"]) for m in body["results"]] == [
        ("dave", "Member", "User"),
        ("olivia", "Owner", "User"),
    ]


async def test_put_org_member_answers_with_the_org_member(
    client: Client, owner: dict[str, str]
) -> None:
    for username, role, expected in [("dave", "owner", "Owner"), ("bob", "member", "Member")]:
        request = {"role": role}
        conforms(request, hub.UPDATE_ORG_MEMBER_REQUEST)
        response = await client.put(
            f"/v2/orgs/acme/members/{username}", json=request, headers=owner
        )
        assert response.status == 200, await response.text()  # bob was not a member: added
        body = await response.json()
        assert departures(body, hub.ORG_MEMBER) == not_sent(ORG_MEMBER_NOT_SENT)
        assert (body["username"], body["role"]) == (username, expected)
    # The Hub's third role is not one regauth has.
    editor = {"role": "editor"}
    conforms(editor, hub.UPDATE_ORG_MEMBER_REQUEST)
    response = await client.put("/v2/orgs/acme/members/bob", json=editor, headers=owner)
    assert response.status == 400
    error_conforms(await response.json(), hub.ERROR_LOWERCASE)
    response = await client.delete("/v2/orgs/acme/members/bob", headers=owner)
    assert response.status == 204
    assert await response.read() == b""


async def test_groups_answer_in_the_hub_shapes(client: Client, owner: dict[str, str]) -> None:
    request = {"name": "devs", "description": "Developers"}
    conforms(request, hub.CREATE_ORG_GROUP_REQUEST)
    response = await client.post("/v2/orgs/acme/groups", json=request, headers=owner)
    assert response.status == 201, await response.text()
    created = await response.json()
    # regauth's groups have a numeric id only, no UUID.
    assert departures(created, hub.ORG_GROUP) == {"body.uuid is missing"}
    assert (created["name"], created["description"], created["member_count"]) == (
        "devs",
        "Developers",
        0,
    )

    listed = await (await client.get("/v2/orgs/acme/groups", headers=owner)).json()
    assert departures(listed, hub.GET_ORG_GROUPS_RESPONSE, every_field=False) == set()
    assert [departures(g, hub.ORG_GROUP) for g in listed["results"]] == [{"body.uuid is missing"}]

    update = {"description": "Everyone who ships"}
    conforms(update, hub.UPDATE_ORG_GROUP_REQUEST, every_field=False)
    response = await client.patch("/v2/orgs/acme/groups/devs", json=update, headers=owner)
    assert response.status == 200
    body = await response.json()
    assert departures(body, hub.ORG_GROUP) == {"body.uuid is missing"}
    assert body["description"] == "Everyone who ships"

    response = await client.get("/v2/orgs/acme/groups/devs", headers=owner)
    assert departures(await response.json(), hub.ORG_GROUP) == {"body.uuid is missing"}
    response = await client.delete("/v2/orgs/acme/groups/devs", headers=owner)
    assert response.status == 204
    assert await response.read() == b""
    gone = await client.get("/v2/orgs/acme/groups/devs", headers=owner)
    assert gone.status == 404
    error_conforms(await gone.json(), hub.ERROR_LOWERCASE)


async def test_group_members_answer_in_the_hub_shapes(
    client: Client, owner: dict[str, str]
) -> None:
    await client.post("/v2/orgs/acme/groups", json={"name": "devs"}, headers=owner)
    request = {"member": "dave"}
    conforms(request, hub.ADD_MEMBER_TO_ORG_GROUP)
    response = await client.post("/v2/orgs/acme/groups/devs/members", json=request, headers=owner)
    assert response.status == 200  # the Hub documents no body; regauth's (the group) is extra

    listed = await (await client.get("/v2/orgs/acme/groups/devs/members", headers=owner)).json()
    assert departures(listed, hub.GET_GROUP_MEMBERS_RESPONSE, every_field=False) == set()
    assert listed["count"] == 1
    [member] = listed["results"]
    assert departures(member, hub.GROUP_MEMBER) == not_sent(GROUP_MEMBER_NOT_SENT)
    assert (member["username"], member["type"]) == ("dave", "User")

    response = await client.delete("/v2/orgs/acme/groups/devs/members/dave", headers=owner)
    assert response.status == 204
    assert await response.read() == b""


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/v2/orgs/acme/members"),
        ("PUT", "/v2/orgs/acme/members/dave"),
        ("GET", "/v2/orgs/acme/groups"),
        ("POST", "/v2/orgs/acme/groups/devs/members"),
    ],
)
async def test_org_routes_hide_the_org_from_outsiders_with_the_hub_error(
    client: Client, owner: dict[str, str], method: str, path: str
) -> None:
    bob = await login(client, "bob", "bob-password")
    response = await client.request(method, path, headers=bob, json={})
    assert response.status == 404
    error_conforms(await response.json(), hub.ERROR_LOWERCASE)


# A table of body -> what the checker says, so a lenient checker cannot pass everything.
LOGIN_OK, LOGIN_ERROR = hub.POST_USERS_LOGIN_SUCCESS_RESPONSE, hub.POST_USERS_LOGIN_ERROR_RESPONSE


@pytest.mark.parametrize(
    ("value", "schema", "every_field", "expected"),
    [
        ({"token": "t"}, LOGIN_OK, True, []),
        ({}, LOGIN_OK, True, ["body.token is missing"]),
        ({}, LOGIN_OK, False, []),  # the Hub marks no field of it required
        ({"token": None}, LOGIN_OK, True, ["body.token is null"]),
        ({"token": 1}, LOGIN_OK, True, ["body.token is int"]),
        ({"detail": "no"}, LOGIN_ERROR, False, []),  # login_2fa_token: only with 2FA
        ({"message": "no"}, LOGIN_ERROR, False, ["body.detail is missing"]),
        (
            {"next": None, "count": True},
            hub.GET_ACCESS_TOKENS_RESPONSE,
            False,
            ["body.count is bool"],
        ),
        (
            {"results": [{"scopes": ["x", 2]}]},
            hub.GET_ACCESS_TOKENS_RESPONSE,
            False,
            ["body.results[0].scopes[1] is int"],
        ),
        ({"is_active": "yes"}, hub.ACCESS_TOKEN_WITHOUT_SECRET, False, ["body.is_active is str"]),
        ({"last_used": None, "extra": 1}, hub.ACCESS_TOKEN, False, []),
        ({"uuid": None}, hub.ACCESS_TOKEN, False, ["body.uuid is null"]),
        ({"role": "Member"}, hub.ORG_MEMBER, False, []),
        ({"role": "member"}, hub.ORG_MEMBER, False, ["body.role is 'member'"]),
        ({"type": "Team", "role": "Owner"}, hub.ORG_MEMBER, False, ["body.type is 'Team'"]),
        (
            {"results": [{"type": "TYPE_REPO", "path": "a/b"}]},
            {"properties": {"results": {"type": "array", "items": hub.ORG_ACCESS_TOKEN_RESOURCE}}},
            False,
            ["body.results[0].scopes is missing"],
        ),
        ({"next": None}, hub.GET_ORG_ACCESS_TOKENS_RESPONSE, False, ["body.next is null"]),
    ],
)
def test_the_checker_reports_what_it_should(
    value: dict[str, Any], schema: hub.Schema, every_field: bool, expected: list[str]
) -> None:
    found = mismatches(value, schema, every_field=every_field)
    assert len(found) == len(expected), found
    for message, start in zip(found, expected, strict=True):
        assert message.startswith(start), message
