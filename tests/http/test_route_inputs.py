"""Every route's input against its model, from the route table: a body or query that does not fit
is a 400 naming the field, never a 500.

For each route with a JSON body: a body that is not an object, one nested too deep, each required
field missing, each field of the wrong type or outside its values (and so for the fields of the
objects in a list, `resources[0].path`), an unknown field (a 400 on `/admin/v1`, ignored under
`/v2`). For each route with a query model: each parameter with a value it does not take. The
cases are made from the models (`msgspec.inspect`), so a new route or field is covered when it
is added to the table. The caller is one the route admits: the body is read after the caller is
checked, so the 400 is only reached past authentication.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import msgspec
import pytest
from msgspec import inspect

from regauth.domain.models import CLI_ACTOR, PULL, OrgRole
from regauth.domain.tokens import parse_token
from regauth.http.decoding import MAX_JSON_DEPTH
from regauth.http.routes import (
    ACCOUNT,
    ACCOUNT_READ,
    ADMIN,
    ANYONE,
    NAMESPACE_OWNER,
    ORG_MEMBER,
    ORG_OWNER,
    REGISTRY,
    ROUTES,
    SIGN_IN,
)
from regauth.http.routing import JSON, Access, Route
from regauth.runtime import Runtime
from tests.support.builders import Client, add_token, add_user, sign_in

UNKNOWN = "not_a_field"
NOT_ALLOWED = "no-such-value"

BODY_ROUTES = [r for r in ROUTES if r.body is not None and r.media == JSON]
QUERY_ROUTES = [r for r in ROUTES if r.query is not None]


def _name(route: Route) -> str:
    return f"{route.method} {route.template}"


# -- cases, from the models --------------------------------------------------------------------


@dataclass(frozen=True)
class Case:
    name: str
    body: Any  # sent as JSON
    fields: dict[str, str] | None  # the `fields` the answer must carry (None: no `fields`)


def _unwrap(kind: inspect.Type) -> inspect.Type:
    while True:
        if isinstance(kind, inspect.Metadata):
            kind = kind.type
        elif isinstance(kind, inspect.UnionType):
            kind = next(t for t in kind.types if not isinstance(t, inspect.NoneType))
        else:
            return kind


def _struct(model: type[Any]) -> inspect.StructType:
    info = inspect.type_info(model)
    assert isinstance(info, inspect.StructType)
    return info


def valid(kind: inspect.Type) -> Any:
    """A JSON value of the right type (not necessarily one the rules accept)."""
    kind = _unwrap(kind)
    if isinstance(kind, inspect.StructType):
        return {f.encode_name: valid(f.type) for f in kind.fields if f.required}
    if isinstance(kind, inspect.ListType):
        return [valid(kind.item_type)]
    if isinstance(kind, inspect.LiteralType):
        return kind.values[0]
    if isinstance(kind, inspect.EnumType):
        return next(iter(kind.cls)).value
    if isinstance(kind, inspect.BoolType):
        return True
    if isinstance(kind, inspect.IntType):
        return kind.ge or 1
    if isinstance(kind, inspect.StrType):
        return "x"
    raise TypeError(f"no example for {kind}")


def wrong(kind: inspect.Type) -> Any:
    """A JSON value the field does not take: another type, or a value outside its choices."""
    kind = _unwrap(kind)
    if isinstance(kind, inspect.LiteralType | inspect.EnumType):
        return NOT_ALLOWED
    if isinstance(kind, inspect.StrType):
        return 5
    if isinstance(kind, inspect.IntType | inspect.BoolType):
        return "5"
    return "x"  # a list or an object


def field_cases(info: inspect.StructType, base: dict[str, Any], where: str = "") -> Iterator[Case]:
    for field in info.fields:
        name = field.encode_name
        path = f"{where}{name}"
        if field.required:
            rest = {k: v for k, v in base.items() if k != name}
            yield Case(f"{path} missing", rest, {path: "required"})
        yield Case(f"{path} wrong", {**base, name: wrong(field.type)}, {path: "invalid"})
        kind = _unwrap(field.type)
        if isinstance(kind, inspect.ListType) and isinstance(
            item := _unwrap(kind.item_type), inspect.StructType
        ):
            first = valid(item)
            for case in field_cases(item, first, f"{path}[0]."):
                yield Case(case.name, {**base, name: [case.body]}, case.fields)


def body_cases(route: Route) -> Iterator[Case]:
    assert route.body is not None
    info = _struct(route.body)
    base = valid(info)
    deep: Any = 1
    for _ in range(MAX_JSON_DEPTH):
        deep = [deep]
    yield Case("not an object", [base], None)
    yield Case("too deep", {**base, "deep": deep}, None)
    yield from field_cases(info, base)
    if _admin(route):  # regauth's own API refuses what it does not know
        yield Case("unknown field", {**base, UNKNOWN: 1}, {UNKNOWN: "unknown"})


def _admin(route: Route) -> bool:
    return route.path.startswith("/admin/")


def query_cases(route: Route) -> Iterator[tuple[str, str]]:
    """(parameter, a raw value it does not take) for each parameter of the route's query."""
    assert route.query is not None
    for field in _struct(route.query).fields:
        kind = _unwrap(field.type)
        if isinstance(kind, inspect.ListType):
            kind = _unwrap(kind.item_type)
        if isinstance(kind, inspect.IntType):
            values = ["abc", "-1", "1_0", str((kind.le or 0) + 1)]
        elif isinstance(kind, inspect.BoolType):
            values = ["maybe"]
        elif isinstance(kind, inspect.LiteralType | inspect.EnumType):
            values = [NOT_ALLOWED]
        else:
            values = ["%ff"]  # not UTF-8
        for value in values:
            yield field.encode_name, value


def test_the_table_has_the_routes_these_tests_need() -> None:
    # Each kind of model input appears, so the cases above run against something.
    assert len(BODY_ROUTES) >= 20 and len(QUERY_ROUTES) >= 5
    assert any(_admin(r) for r in BODY_ROUTES) and not all(_admin(r) for r in BODY_ROUTES)
    cases = [c.name for r in BODY_ROUTES for c in body_cases(r)]
    assert "resources[0].path wrong" in cases


# -- the app, with a caller for each kind of access ---------------------------------------------


@dataclass(frozen=True)
class Setup:
    client: Client
    headers: dict[Access, dict[str, str]]
    path: dict[str, str]  # a PathParam's component -> a value that exists

    def url(self, route: Route) -> str:
        values = {p.name: self.path[p.component] for p in route.params}
        return route.template.format(**values)

    async def send(self, route: Route, **kwargs: Any) -> tuple[int, dict[str, Any]]:
        headers = self.headers.get(route.access, {})
        response = await self.client.request(
            route.method, self.url(route), headers=headers, **kwargs
        )
        raw = await response.read()
        assert response.status < 500, f"{_name(route)}: {response.status} {raw!r}"
        body: dict[str, Any] = msgspec.json.decode(raw) if raw else {}
        return response.status, body


@pytest.fixture
async def setup(runtime: Runtime, client: Client) -> Setup:
    add_user(runtime, "alice", "alice-password")
    add_user(runtime, "olivia", "olivia-password")
    add_user(runtime, "dave", "dave-password")
    orgs = runtime.organizations
    org = orgs.create("acme", runtime.users.get("olivia"), CLI_ACTOR)
    orgs.set_member(org, runtime.users.get("dave"), OrgRole.MEMBER, CLI_ACTOR)
    devs = orgs.create_team(org, "devs", "", CLI_ACTOR)
    orgs.add_team_member(org, devs, runtime.users.get("dave"), CLI_ACTOR)
    org_token = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({PULL})},
        public_read=False,
        expires_at=None,
    ).record
    pat = runtime.tokens.get(parse_token(add_token(runtime, "alice")).public_id)
    admin_key = {"Authorization": f"Bearer {runtime.admin_keys.create('tests', CLI_ACTOR).secret}"}
    alice = await sign_in(client, "alice", "alice-password")
    olivia = await sign_in(client, "olivia", "olivia-password")
    headers = {
        ANYONE: {},
        SIGN_IN: {},
        REGISTRY: {},
        ACCOUNT: alice,
        ACCOUNT_READ: alice,
        NAMESPACE_OWNER: alice,
        ORG_MEMBER: olivia,
        ORG_OWNER: olivia,
        ADMIN: admin_key,
    }
    path = {
        "accessTokenUuid": pat.uuid,
        "tokenId": pat.id,
        "userName": "alice",
        "repositoryName": "alice/app",
        "adminOrgName": "acme",
        "orgName": "acme",
        "orgAccessTokenId": org_token.uuid,
        "groupName": "devs",
        "memberUsername": "dave",
        "namespace": "alice",
        "namespaceRepository": "app",
    }
    return Setup(client, headers, path)


# -- the tests -----------------------------------------------------------------------------------


@pytest.mark.parametrize("route", BODY_ROUTES, ids=_name)
async def test_a_body_that_does_not_fit_is_a_400_naming_the_field(
    setup: Setup, route: Route
) -> None:
    wrong_answers = []
    for case in body_cases(route):
        status, body = await setup.send(route, json=case.body)
        problems = []
        if status != 400 or body["errors"][0]["code"] != "BAD_REQUEST":
            problems.append(f"status {status}")
        elif case.fields is not None:
            if body.get("fields") != case.fields:
                problems.append(f"fields {body.get('fields')}")
            (path,) = case.fields
            if repr(path) not in body["details"]:
                problems.append("the message does not name it")
        elif "fields" in body:
            problems.append(f"fields {body['fields']}")
        if problems:
            wrong_answers.append(f"{case.name}: {', '.join(problems)}: {body.get('details')}")
    assert not wrong_answers, "\n".join(wrong_answers)


@pytest.mark.parametrize("route", [r for r in BODY_ROUTES if not _admin(r)], ids=_name)
async def test_an_unknown_field_is_ignored_under_v2(setup: Setup, route: Route) -> None:
    assert route.body is not None
    _, body = await setup.send(route, json={**valid(_struct(route.body)), UNKNOWN: 1})
    # Whatever the rules make of the rest of the body, the unknown field is not held against it.
    assert UNKNOWN not in body.get("fields", {}), body
    assert UNKNOWN not in body.get("details", ""), body


@pytest.mark.parametrize("route", QUERY_ROUTES, ids=_name)
async def test_a_query_value_that_does_not_fit_is_a_400_naming_the_parameter(
    setup: Setup, route: Route
) -> None:
    wrong_answers = []
    for name, value in query_cases(route):
        url = f"{setup.url(route)}?{name}={value}"
        response = await setup.client.get(url, headers=setup.headers.get(route.access, {}))
        raw = await response.read()
        assert response.status < 500, f"{name}={value}: {response.status} {raw!r}"
        status, body = response.status, msgspec.json.decode(raw)
        if status != 400 or body.get("fields") != {name: "invalid"} or name not in body["details"]:
            wrong_answers.append(f"{name}={value}: {status} {body}")
    assert not wrong_answers, "\n".join(wrong_answers)
