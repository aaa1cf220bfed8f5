"""SCIM 2.0 provisioning through the real app (both backends): Users make linked accounts
without a password; `active: false` and DELETE disable them, so their PAT is refused at /token
on the next request; Groups map to teams; only a SCIM key opens /scim/v2, and it opens
nothing else; bad input is a SCIM error, never a 500."""

from __future__ import annotations

import json
from typing import Any

import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, OrgRole
from regauth.http.decoding import MAX_BODY_BYTES
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_admin_key,
    add_org,
    add_token,
    add_user,
    basic,
    bearer,
    reconfigured,
)
from tests.support.secrets import remember

SCIM = "application/scim+json"
USER = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP = "urn:ietf:params:scim:schemas:core:2.0:Group"
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR = "urn:ietf:params:scim:api:messages:2.0:Error"
TOKEN = "/token?service=registry&scope=repository:{}/app:pull"


@pytest.fixture
def config(config: Config) -> Config:
    return reconfigured(
        config,
        groups={
            "mappings": (
                "developers=acme/dev",
                "platform=acme:owners",
                "platform-admins=acme:owners",
            )
        },
    )


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    add_user(runtime, "olivia", None)
    org = add_org(runtime, "acme", "olivia")
    for team in ("dev", "ops"):
        runtime.organizations.create_team(org, team, "", CLI_ACTOR)


@pytest.fixture
def key(runtime: Runtime) -> dict[str, str]:
    """A SCIM key's Authorization header (what `regauth admin-key create --scim` makes)."""
    created = runtime.admin_keys.create("okta", CLI_ACTOR, purpose="scim")
    return bearer(remember(str(created.secret)))


class Scim:
    def __init__(self, client: Client, key: dict[str, str]) -> None:
        self.client, self.key = client, key

    async def __call__(
        self, method: str, path: str, body: Any = None, *, status: int, **headers: str
    ) -> Any:
        data = None if body is None else body if isinstance(body, bytes) else json.dumps(body)
        response = await self.client.request(
            method,
            f"/scim/v2{path}",
            data=data,
            headers={**self.key, "Content-Type": SCIM, **headers},
        )
        text = await response.text()
        assert response.status == status, text
        if response.status == 204:
            return None
        assert response.content_type == SCIM, response.headers
        answer = json.loads(text)
        if status >= 400:
            assert answer["schemas"] == [ERROR] and answer["status"] == str(status), answer
        return answer

    async def user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        body = {"schemas": [USER], "userName": user_name, **attributes}
        made: dict[str, Any] = await self("POST", "/Users", body, status=201)
        return made

    async def group(self, name: str, *members: str) -> dict[str, Any]:
        body = {"schemas": [GROUP], "displayName": name, "members": [{"value": m} for m in members]}
        made: dict[str, Any] = await self("POST", "/Groups", body, status=201)
        return made

    async def patch(self, path: str, *operations: dict[str, Any], status: int = 200) -> Any:
        return await self(
            "PATCH", path, {"schemas": [PATCH_OP], "Operations": list(operations)}, status=status
        )


@pytest.fixture
def scim(client: Client, key: dict[str, str]) -> Scim:
    return Scim(client, key)


async def test_a_created_user_is_a_linked_account_without_a_password(
    scim: Scim, client: Client, runtime: Runtime
) -> None:
    response = await client.post(
        "/scim/v2/Users",
        json={
            "schemas": [USER],
            "userName": "Alice.Smith@corp.example",
            "externalId": "00u1abc",
            "name": {"givenName": "Alice", "familyName": "Smith"},
            "emails": [{"value": "alice@corp.example", "type": "work", "primary": True}],
            "active": True,
            "password": "never-kept-1",  # SSO accounts have none: dropped, never stored
        },
        headers={**scim.key, "Content-Type": SCIM},
    )
    made = await response.json(content_type=SCIM)
    assert response.status == 201, made
    assert response.headers["Location"] == made["meta"]["location"]
    assert response.headers["ETag"] == made["meta"]["version"]
    assert made["meta"]["location"].endswith(f"/scim/v2/Users/{made['id']}")
    assert made["meta"]["resourceType"] == "User"
    assert (made["userName"], made["externalId"], made["active"]) == (
        "Alice.Smith@corp.example",
        "00u1abc",
        True,
    )
    assert made["name"] == {"givenName": "Alice", "familyName": "Smith"}
    assert "password" not in made

    account = runtime.users.get("alice-smith")
    assert (account.password_hash, account.linked, account.disabled) == (None, True, False)
    [identity] = runtime.provisioning.identities("alice-smith")
    assert (identity.source, identity.issuer, identity.subject) == ("scim", "", made["id"])
    assert await scim("GET", f"/Users/{made['id']}", status=200) == made
    assert "never-kept-1" not in json.dumps(runtime.store.list_scim_users()[0].attributes)


async def test_filters_find_users_by_user_name_and_external_id(scim: Scim) -> None:
    alice = await scim.user("alice@corp.example", externalId="e-1")
    bob = await scim.user("bob", externalId="e-2", displayName="Bob")

    async def ids(query: str) -> list[str]:
        listing = await scim("GET", f"/Users?{query}", status=200)
        assert listing["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        assert listing["itemsPerPage"] == len(listing["Resources"])
        return [r["id"] for r in listing["Resources"]]

    assert await ids('filter=userName eq "ALICE@corp.example"') == [alice["id"]]  # no case
    assert await ids('filter=externalId eq "e-2"') == [bob["id"]]
    assert await ids('filter=externalId eq "E-2"') == []  # externalId is caseExact
    assert await ids('filter=userName sw "b" and displayName pr') == [bob["id"]]
    assert await ids("") == [alice["id"], bob["id"]]
    assert await ids("startIndex=2&count=5") == [bob["id"]]
    assert await ids("startIndex=-4&count=1") == [alice["id"]]  # below 1 is 1
    assert (await scim("GET", "/Users?count=0", status=200))["totalResults"] == 2
    # What looks like an injection is one quoted value, compared as it is.
    assert await ids('filter=userName eq "bob\\" or \\"1\\" eq \\"1"') == []
    assert await ids('filter=userName eq "*)(uid=*"') == []
    assert await ids('filter=userName eq "bob\'; DROP TABLE users; --"') == []
    only = await scim("GET", '/Users?filter=userName eq "bob"&attributes=userName', status=200)
    assert only["Resources"] == [{"schemas": [USER], "id": bob["id"], "userName": "bob"}]


@pytest.mark.parametrize(
    "query",
    [
        "filter=userName eq bob",  # an unquoted value
        'filter=userName regex "b.*"',
        'filter=userName eq "bob" or',
        "filter=*)(uid=*",
        'filter=(userName eq "bob"',
        "filter=" + "(" * 40 + "userName pr" + ")" * 40,
        "filter=" + "a" * 3000,
        'filter=userName eq "unterminated',
    ],
)
async def test_a_filter_that_does_not_parse_is_an_invalid_filter(scim: Scim, query: str) -> None:
    error = await scim("GET", f"/Users?{query}", status=400)
    assert error["scimType"] == "invalidFilter"


async def test_deactivation_refuses_the_users_pat_at_the_next_token_request(
    scim: Scim, client: Client, runtime: Runtime
) -> None:
    made = await scim.user("carol@corp.example")
    pat = add_token(runtime, "carol")
    assert (await client.get(TOKEN.format("carol"), headers=basic("carol", pat))).status == 200

    # Entra ID's spelling: a capitalised op and the boolean as a string.
    done = await scim.patch(
        f"/Users/{made['id']}", {"op": "Replace", "path": "active", "value": "False"}
    )
    assert done["active"] is False and runtime.users.get("carol").disabled
    refused = await client.get(TOKEN.format("carol"), headers=basic("carol", pat))
    assert refused.status == 401

    await scim.patch(f"/Users/{made['id']}", {"op": "replace", "value": {"active": True}})
    assert (await client.get(TOKEN.format("carol"), headers=basic("carol", pat))).status == 200

    # PUT with active false does the same.
    put = await scim(
        "PUT",
        f"/Users/{made['id']}",
        {"schemas": [USER], "userName": "carol@corp.example", "active": False},
        status=200,
    )
    assert put["active"] is False
    assert (await client.get(TOKEN.format("carol"), headers=basic("carol", pat))).status == 401


async def test_delete_disables_the_account_and_removes_the_resource(
    scim: Scim, client: Client, runtime: Runtime
) -> None:
    made = await scim.user("dave")
    pat = add_token(runtime, "dave")
    assert (await client.get(TOKEN.format("dave"), headers=basic("dave", pat))).status == 200
    await scim.group("developers", made["id"])
    assert _teams(runtime, "dave") == {"acme": "member", "acme/dev": "mapping"}

    assert await scim("DELETE", f"/Users/{made['id']}", status=204) is None
    assert (await client.get(TOKEN.format("dave"), headers=basic("dave", pat))).status == 401
    assert runtime.users.get("dave").disabled
    assert _teams(runtime, "dave") == {}  # the group's teams went with it
    error = await scim("GET", f"/Users/{made['id']}", status=404)
    assert "scimType" not in error
    await scim("DELETE", f"/Users/{made['id']}", status=404)
    # The name stays taken: a new resource cannot take over the old account's namespace.
    assert (await scim("POST", "/Users", {"userName": "dave"}, status=409))[
        "scimType"
    ] == "uniqueness"


async def test_groups_map_members_to_teams_and_back(scim: Scim, runtime: Runtime) -> None:
    erin = await scim.user("erin")
    frank = await scim.user("frank")
    orgs = runtime.organizations
    acme = orgs.get("acme")
    frank_account = runtime.users.get("frank")
    orgs.set_member(acme, frank_account, OrgRole.MEMBER, CLI_ACTOR)
    orgs.add_team_member(acme, orgs.team(acme, "ops"), frank_account, CLI_ACTOR)  # by hand
    group = await scim.group("developers", erin["id"])
    assert group["members"] == [
        {"value": erin["id"], "$ref": erin["meta"]["location"], "type": "User"}
    ]
    assert _teams(runtime, "erin") == {"acme": "member", "acme/dev": "mapping"}
    got = await scim("GET", f"/Users/{erin['id']}", status=200)
    assert [g["display"] for g in got["groups"]] == ["developers"]

    path = f"/Groups/{group['id']}"
    await scim.patch(path, {"op": "add", "path": "members", "value": [{"value": frank["id"]}]})
    assert "acme/dev" in _teams(runtime, "frank")
    await scim.patch(path, {"op": "remove", "path": f'members[value eq "{erin["id"]}"]'})
    assert _teams(runtime, "erin") == {}
    assert "acme/dev" in _teams(runtime, "frank")
    # Entra ID removes with the members as the value.
    await scim.patch(path, {"op": "Remove", "path": "members", "value": [{"value": frank["id"]}]})
    assert _teams(runtime, "frank") == {"acme": "member", "acme/ops": "manual"}  # stays

    await scim.patch(path, {"op": "add", "value": {"members": [{"value": erin["id"]}]}})
    renamed = await scim.patch(path, {"op": "replace", "path": "displayName", "value": "platform"})
    assert renamed["displayName"] == "platform"
    assert _teams(runtime, "erin") == {"acme": "owner"}  # platform=acme:owners
    listing = await scim(
        "GET", '/Groups?filter=displayName eq "PLATFORM"&excludedAttributes=members', status=200
    )
    assert listing["Resources"] == [{k: v for k, v in renamed.items() if k != "members"}]

    await scim("DELETE", path, status=204)
    assert _teams(runtime, "erin") == {}
    await scim("GET", path, status=404)


async def test_a_look_alike_group_name_maps_to_nothing(scim: Scim, runtime: Runtime) -> None:
    """Group names compare without case in ASCII only (found from outside: U+017F, the long s,
    which `str.casefold` turns into `s`, made a group `platform-admin` + U+017F owners of
    acme)."""
    mallory = await scim.user("mallory")
    await scim.group("platform-admin\u017f", mallory["id"])
    await scim.group("developer\u017f", mallory["id"])
    assert _teams(runtime, "mallory") == {}
    await scim.group("Platform-Admins", mallory["id"])  # ASCII case still does not matter
    assert _teams(runtime, "mallory") == {"acme": "owner"}


async def test_a_membership_made_by_hand_is_never_raised_or_removed_by_a_mapping(
    scim: Scim, runtime: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """Found from outside: `regauth org set-member acme r-ot member`, then a SCIM group that
    maps to acme's owners made r-ot an owner (the row the mapping's now), and taking r-ot out
    of the group removed r-ot from acme. A hand-made membership is the admin's: it stays as
    it was, whatever the groups say."""
    made = await scim.user("r-ot")
    acme = runtime.organizations.get("acme")
    runtime.organizations.set_member(acme, runtime.users.get("r-ot"), OrgRole.MEMBER, CLI_ACTOR)
    group = await scim.group("Platform-Admins", made["id"])
    assert _sources(runtime, "r-ot") == {"acme": "member/manual"}
    kept = [r for r in caplog.records if r.getMessage() == "group_mapping_kept_manual"]
    assert [r.fields for r in kept] == [{"org": "acme", "member": "r-ot"}]
    remove = {"op": "remove", "path": f'members[value eq "{made["id"]}"]'}
    await scim.patch(f"/Groups/{group['id']}", remove)
    assert _sources(runtime, "r-ot") == {"acme": "member/manual"}
    # A mapped team under the manual membership comes and goes; the membership stays.
    developers = await scim.group("developers", made["id"])
    assert _sources(runtime, "r-ot") == {"acme": "member/manual", "acme/dev": "mapping"}
    await scim("DELETE", f"/Groups/{developers['id']}", status=204)
    assert _sources(runtime, "r-ot") == {"acme": "member/manual"}
    assert runtime.store.org_context("r-ot", ["acme"])["acme"].role is OrgRole.MEMBER


async def test_a_group_name_is_unique_and_members_must_be_users(scim: Scim) -> None:
    await scim.group("developers")
    taken = await scim("POST", "/Groups", {"displayName": "developers"}, status=409)
    assert taken["scimType"] == "uniqueness"
    unknown = await scim(
        "POST", "/Groups", {"displayName": "x", "members": [{"value": "nobody"}]}, status=400
    )
    assert unknown["scimType"] == "invalidValue"


@pytest.mark.parametrize(
    ("body", "status", "scim_type"),
    [
        (b'{"userName": "x",', 400, "invalidSyntax"),
        (b"[1, 2]", 400, "invalidSyntax"),
        (b"\xff\xfe", 400, "invalidSyntax"),
        ({"userName": 7}, 400, "invalidValue"),
        ({"userName": "gina", "active": "yes"}, 400, "invalidValue"),
        ({"userName": "gina", "emails": {"value": "x"}}, 400, "invalidValue"),
        ({"userName": "gina", "name": "Gina"}, 400, "invalidValue"),
        ({"displayName": "no userName"}, 400, "invalidValue"),
        ({"userName": "x"}, 400, "invalidValue"),  # no account name can be made of it
        ({"userName": "olivia"}, 409, "uniqueness"),  # a local account holds the name
        ({"userName": "acme"}, 409, "uniqueness"),  # an organization does
    ],
)
async def test_bad_users_are_refused_and_make_no_account(
    scim: Scim, runtime: Runtime, body: Any, status: int, scim_type: str
) -> None:
    error = await scim("POST", "/Users", body, status=status)
    assert error["scimType"] == scim_type
    assert runtime.store.list_scim_users() == []
    assert {u.name for u in runtime.users.list()} == {"olivia"}


async def test_bad_patches_are_refused(scim: Scim) -> None:
    made = await scim.user("hank")
    path = f"/Users/{made['id']}"
    cases = [
        ({"op": "move", "path": "title", "value": "x"}, "invalidValue"),
        ({"op": "remove"}, "noTarget"),
        ({"op": "add", "path": "nosuch", "value": "x"}, "invalidPath"),
        ({"op": "add", "path": "emails[type eq ", "value": "x"}, "invalidPath"),
        ({"op": "replace", "path": "id", "value": "x"}, "mutability"),
        ({"op": "replace", "path": "groups", "value": []}, "mutability"),
        ({"op": "remove", "path": "userName"}, "mutability"),
        ({"op": "replace", "path": "active", "value": "maybe"}, "invalidValue"),
        ({"op": "replace", "path": 'emails[type eq "work"]', "value": 3}, "invalidValue"),
    ]
    for operation, scim_type in cases:
        error = await scim.patch(path, operation, status=400)
        assert error["scimType"] == scim_type, (operation, error)
    assert (await scim("PATCH", path, {"Operations": "x"}, status=400))[
        "scimType"
    ] == "invalidSyntax"
    assert await scim("GET", path, status=200) == made  # nothing changed


async def test_patch_paths_with_filters_and_sub_attributes(scim: Scim) -> None:
    made = await scim.user("ivy", emails=[{"value": "ivy@home.example", "type": "home"}])
    path = f"/Users/{made['id']}"
    done = await scim.patch(
        path,
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "ivy@corp.example"},
        {"op": "add", "path": "name.givenName", "value": "Ivy"},
        {"op": "replace", "value": {"displayName": "Ivy", "name.familyName": "Lee"}},
        {
            "op": "add",
            "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:department",
            "value": "R&D",
        },
        {"op": "add", "path": "urn:example:unknown:1.0:User:thing", "value": "ignored"},
    )
    assert done["emails"] == [
        {"value": "ivy@home.example", "type": "home"},
        {"type": "work", "value": "ivy@corp.example"},
    ]
    assert done["name"] == {"givenName": "Ivy", "familyName": "Lee"}
    assert done["displayName"] == "Ivy"
    assert done["urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"] == {
        "department": "R&D"
    }
    done = await scim.patch(path, {"op": "remove", "path": 'emails[type eq "home"]'})
    assert [e["type"] for e in done["emails"]] == ["work"]
    assert (
        await scim("GET", '/Users?filter=emails[type eq "work" and value co "corp"]', status=200)
    )["totalResults"] == 1


async def test_user_name_is_unique_without_case(scim: Scim) -> None:
    await scim.user("jack@corp.example")
    error = await scim("POST", "/Users", {"userName": "JACK@corp.example"}, status=409)
    assert error["scimType"] == "uniqueness"


async def test_an_oversized_body_is_413(scim: Scim, runtime: Runtime) -> None:
    body = json.dumps({"userName": "kim", "title": "x" * MAX_BODY_BYTES}).encode()
    error = await scim("POST", "/Users", body, status=413)
    assert "scimType" not in error
    assert runtime.store.list_scim_users() == []


async def test_unknown_paths_and_methods_are_scim_errors(scim: Scim) -> None:
    await scim("GET", "/Nothing", status=404)
    await scim("GET", "/Users/no-such-id", status=404)
    await scim("DELETE", "/ServiceProviderConfig", status=405)
    await scim("PATCH", "/Users", {}, status=405)
    await scim("POST", "/Bulk", {}, status=501)
    await scim("POST", "/Users", b"{}", status=400, **{"Content-Type": "text/plain"})


async def test_discovery(scim: Scim) -> None:
    config = await scim("GET", "/ServiceProviderConfig", status=200)
    assert config["patch"] == {"supported": True}
    assert config["authenticationSchemes"][0]["type"] == "oauthbearertoken"
    schemas = await scim("GET", "/Schemas", status=200)
    assert {s["id"] for s in schemas["Resources"]} == {
        USER,
        GROUP,
        "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User",
    }
    user = await scim("GET", f"/Schemas/{USER}", status=200)
    assert {a["name"] for a in user["attributes"]} >= {"userName", "active", "emails"}
    types = await scim("GET", "/ResourceTypes", status=200)
    assert {t["endpoint"] for t in types["Resources"]} == {"/Users", "/Groups"}
    assert (await scim("GET", "/ResourceTypes/Group", status=200))["schema"] == GROUP
    await scim("GET", "/Schemas/urn:nothing", status=404)


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Basic b2xpdmlhOng=", "Bearer not-a-key", "Bearer rga_malformed"],
)
async def test_only_a_scim_key_opens_scim(client: Client, authorization: str | None) -> None:
    headers = {} if authorization is None else {"Authorization": authorization}
    response = await client.get("/scim/v2/Users", headers=headers)
    assert response.status == 401
    assert response.headers["WWW-Authenticate"].startswith("Bearer")
    body = await response.json(content_type=SCIM)
    assert body["schemas"] == [ERROR] and body["status"] == "401"
    if authorization == "Bearer rga_malformed":  # a key, not a "personal access token"
        assert body["detail"] == "malformed API key"


async def test_an_admin_key_or_a_pat_does_not_open_scim(client: Client, runtime: Runtime) -> None:
    admin = add_admin_key(runtime)
    assert (await client.get("/admin/v1/users", headers=admin)).status == 200
    response = await client.get("/scim/v2/Users", headers=admin)
    assert response.status == 401
    assert "admin-key create --scim" in (await response.json(content_type=SCIM))["detail"]
    pat = add_token(runtime, "olivia")
    assert (await client.get("/scim/v2/Users", headers=bearer(pat))).status == 401


async def test_a_scim_key_opens_nothing_else(
    client: Client, runtime: Runtime, key: dict[str, str]
) -> None:
    assert (await client.get("/scim/v2/Users", headers=key)).status == 200
    refused = await client.get("/admin/v1/users", headers=key)
    assert refused.status == 401
    assert "SCIM key" in (await refused.json())["detail"]
    secret = key["Authorization"].removeprefix("Bearer ")
    assert (await client.get(TOKEN.format("olivia"), headers=basic("olivia", secret))).status == 401


async def test_a_revoked_scim_key_is_refused(
    client: Client, runtime: Runtime, key: dict[str, str]
) -> None:
    [made] = [k for k in runtime.admin_keys.list() if k.purpose == "scim"]
    runtime.admin_keys.revoke(made.id, CLI_ACTOR)
    assert (await client.get("/scim/v2/Users", headers=key)).status == 401


async def test_scim_can_be_turned_off(another_runtime: Any, aiohttp_client: Any) -> None:
    from regauth.http.app import create_app

    off = another_runtime(scim={"enabled": False})
    client = await aiohttp_client(create_app(off))
    response = await client.get("/scim/v2/Users")
    assert response.status == 404


def _sources(runtime: Runtime, name: str) -> dict[str, str]:
    """Each membership's role (for an organization's) and who made it."""
    user = runtime.users.get(name)
    return {
        f"{m.org}/{m.team}" if m.team else m.org: (f"{m.role.value}/" if m.role else "") + m.source
        for m in runtime.store.memberships_of(user.id)
    }


def _teams(runtime: Runtime, name: str) -> dict[str, str]:
    user = runtime.users.get(name)
    return {
        f"{m.org}/{m.team}" if m.team else m.org: m.role.value if m.role else m.source
        for m in runtime.store.memberships_of(user.id)
    }


@pytest.mark.parametrize(
    "operations",
    [
        [{"op": "add", "path": "name", "value": [1]}],
        [{"op": "add", "path": "emails", "value": "x"}],
        [{"op": "replace", "path": "emails.value", "value": {"a": 1}}],
        [{"op": 1}],
        [{"op": "add", "path": 5, "value": 1}],
        [{"op": "add", "value": {"emails": [{"value": ["x"]}]}}],
        [{"op": "add", "path": "members", "value": [{"value": "x"}]}],
        [{"op": "add", "path": "title", "value": {"a": {"b": {"c": [[[["deep"]]]]}}}}],
        [None],
        [{"op": "add", "path": "emails[value pr].type", "value": 7}],
        [
            {
                "op": "add",
                "path": "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager",
                "value": "x",
            }
        ],
    ],
)
async def test_odd_patches_are_400s_not_500s(scim: Scim, operations: list[Any]) -> None:
    made = await scim.user("lena", emails=[{"value": "l@x.example"}])
    error = await scim("PATCH", f"/Users/{made['id']}", {"Operations": operations}, status=400)
    assert error["scimType"] in ("invalidValue", "invalidSyntax", "invalidPath")
    assert await scim("GET", f"/Users/{made['id']}", status=200) == made
