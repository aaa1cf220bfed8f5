"""The OpenAPI document: generated fresh, valid, served, and in step with the app's routes and
responses."""

from __future__ import annotations

import json
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest
from aiohttp import hdrs, web
from aiohttp.test_utils import TestClient
from openapi_schema_validator import OAS30Validator, oas30_format_checker
from openapi_spec_validator import OpenAPIV30SpecValidator

import regauth
from regauth.domain.hygiene import Notification
from regauth.domain.models import (
    CLI_ACTOR,
    PULL,
    AccessLevel,
    OrgRole,
    OrgTokenRecord,
    TeamPermission,
)
from regauth.domain.tokens import parse_token
from regauth.http.app import create_app
from regauth.http.handlers.openapi import document
from regauth.http.openapi import COMMAND, PATH, render
from regauth.runtime import Runtime
from tests.support.builders import add_token, add_user, basic, sign_in
from tests.support.clock import FakeClock

Client = TestClient[web.Request, web.Application]
Operation = tuple[str, str]  # (lower-case method, OpenAPI path template)

HTTP_METHODS = frozenset({"get", "put", "post", "delete", "options", "head", "patch", "trace"})


def spec() -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads(document())
    return loaded


# Served but not part of the documented API: Prometheus's text format for a scraper, not JSON,
# and not on this listener at all when `[metrics] listen` is set (regauth/http/metrics.py).
UNDOCUMENTED = {("get", "/metrics")}
# SCIM 2.0 (RFC 7643/7644) is its own protocol, for an identity provider's provisioner: it
# describes itself at /scim/v2/ServiceProviderConfig, /Schemas and /ResourceTypes, answers in
# application/scim+json and its own error shape (tests/http/test_scim.py, and the scim2-tester
# conformance run in tests/server/test_scim_conformance.py), so it is not in this document.
UNDOCUMENTED_PREFIXES = ("/scim/v2",)


def served_operations(app: web.Application) -> set[Operation]:
    operations = set()
    for route in app.router.routes():
        if route.method == hdrs.METH_HEAD:  # aiohttp adds HEAD to every GET
            continue
        assert route.resource is not None
        if route.resource.canonical.startswith(UNDOCUMENTED_PREFIXES):
            continue
        # `canonical` is the template without the regex: `{name:.+}` -> `{name}`, as OpenAPI has it.
        operations.add((route.method.lower(), route.resource.canonical))
    return operations


def documented_operations(doc: dict[str, Any]) -> set[Operation]:
    return {
        (method, path)
        for path, item in doc["paths"].items()
        for method in item
        if method in HTTP_METHODS
    }


def operation_objects(doc: dict[str, Any]) -> Iterator[dict[str, Any]]:
    for item in doc["paths"].values():
        for method, operation in item.items():
            if method in HTTP_METHODS:
                yield operation


def resolve(doc: dict[str, Any], ref: str) -> Any:
    """Follow a local JSON pointer (RFC 6901) such as `#/components/schemas/Error`."""
    assert ref.startswith("#/"), f"only local references are used: {ref}"
    node: Any = doc
    for part in ref[2:].split("/"):
        key = part.replace("~1", "/").replace("~0", "~")
        node = node[int(key)] if isinstance(node, list) else node[key]
    return node


def references(node: Any) -> Iterator[str]:
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "$ref" and isinstance(value, str):
                yield value
            else:
                yield from references(value)
    elif isinstance(node, list):
        for item in node:
            yield from references(item)


@pytest.fixture
def app(runtime: Runtime) -> web.Application:
    return create_app(runtime)


def test_the_committed_document_is_fresh() -> None:
    # Generated from the route table and the models; the committed file is what is served.
    assert PATH.read_text(encoding="utf-8") == render(), f"{PATH.name} is stale: run `{COMMAND}`"
    assert document() == PATH.read_bytes()


def test_every_route_is_documented(app: web.Application) -> None:
    missing = served_operations(app) - documented_operations(spec()) - UNDOCUMENTED
    assert not missing, f"served but not in openapi.json: {sorted(missing)}"


def test_every_documented_operation_is_served(app: web.Application) -> None:
    extra = documented_operations(spec()) - served_operations(app)
    assert not extra, f"in openapi.json but not served: {sorted(extra)}"


def test_the_document_is_valid_openapi_3_0() -> None:
    doc = spec()
    assert doc["openapi"].startswith("3.0.")
    OpenAPIV30SpecValidator(doc).validate()


def test_every_reference_resolves() -> None:
    doc = spec()
    broken = []
    for ref in set(references(doc)):
        try:
            resolve(doc, ref)
        except (AssertionError, KeyError, IndexError, ValueError):
            broken.append(ref)
    assert not broken, f"unresolved $ref: {sorted(broken)}"


def test_every_component_is_used() -> None:
    # A component nothing points at is usually what is left of a route that changed.
    doc = spec()
    used = set(references(doc))
    unused = [
        f"#/components/{kind}/{name}"
        for kind, entries in doc["components"].items()
        if kind != "securitySchemes"  # these are named in `security`, not by $ref
        for name in entries
        if f"#/components/{kind}/{name}" not in used
    ]
    assert not unused, unused
    schemes = {
        name for op in operation_objects(doc) for req in op.get("security", []) for name in req
    }
    assert schemes == set(doc["components"]["securitySchemes"])


def test_operation_ids_are_unique() -> None:
    ids = [op["operationId"] for op in operation_objects(spec())]
    assert len(ids) == len(set(ids))


def test_the_version_is_the_package_version() -> None:
    assert spec()["info"]["version"] == regauth.__version__


async def test_the_document_is_served(aiohttp_client: Any, app: web.Application) -> None:
    client = await aiohttp_client(app)
    response = await client.get("/openapi.json")
    assert response.status == 200
    assert response.content_type == "application/json"
    served = json.loads(await response.read())
    assert served == spec()
    assert served["openapi"] == "3.0.3"


# ---------------------------------------------------------------------------------------------
# Real responses against the document: one row per (operation, status) worth checking. Every
# documented operation needs at least one row, so a new route comes with a check of its shape.
# In paths, bodies and forms, {pat}, {uuid} and {id} are alice's personal access token; the
# other {names} are the values Setup makes (see `setup`). The organization `acme` is olivia's;
# dave is a member (in group `devs`, which has read on `app`; group `ops` is empty), alice is
# not. {org_token} (its UUID) and {org_token_id} name the second of acme's two tokens (`ci`).


@dataclass(frozen=True)
class Call:
    method: str
    template: str
    status: int
    path: str | None = None  # the URL, when it is not the template itself
    auth: str | None = None  # a key of Setup.headers
    json: Any = None
    form: dict[str, str] | None = None
    raw: bytes | None = None  # a body sent as it is, as `content_type`
    content_type: str = "application/json"
    encoding: str | None = None  # the body's Content-Encoding

    def __str__(self) -> str:
        who = f" as {self.auth}" if self.auth else ""
        return f"{self.method.upper()} {self.path or self.template} {self.status}{who}"


BIG = b"x" * (65 * 1024)
FORM = "application/x-www-form-urlencoded"
UUID = "/v2/access-tokens/{uuid}"
NO_UUID = "/v2/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb"
LOGIN = {"username": "alice", "password": "alice-password"}
PASSWORD_FORM = {"grant_type": "password", "username": "alice", "password": "{pat}"}
OTS, ACME_OTS = "/v2/orgs/{org}/access-tokens", "/v2/orgs/acme/access-tokens"
OT, ACME_OT = "/v2/orgs/{org}/access-tokens/{token}", "/v2/orgs/acme/access-tokens/{org_token}"
NO_OT = "/v2/orgs/acme/access-tokens/b30bbf97-506c-4ecd-aabc-842f3cb484fb"
OT_REGEN = "/v2/orgs/{org}/access-tokens/{token}/regenerate"
RESOURCES = [
    {"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-push"]},
    {"type": "TYPE_REPO", "path": "*/*/public", "scopes": ["repo-pull"]},
]
MEMBERS, ACME_MEMBERS = "/v2/orgs/{org}/members", "/v2/orgs/acme/members"
MEMBER, ACME_MEMBER = "/v2/orgs/{org}/members/{username}", "/v2/orgs/acme/members/"
GROUPS, ACME_GROUPS = "/v2/orgs/{org}/groups", "/v2/orgs/acme/groups"
GROUP, DEVS, NO_GROUP = (
    "/v2/orgs/{org}/groups/{group}",
    "/v2/orgs/acme/groups/devs",
    "/v2/orgs/acme/groups/nope",
)
GROUP_MEMBERS, DEVS_MEMBERS = (
    "/v2/orgs/{org}/groups/{group}/members",
    "/v2/orgs/acme/groups/devs/members",
)
GROUP_MEMBER = "/v2/orgs/{org}/groups/{group}/members/{username}"
PERMISSIONS, DEVS_PERMISSIONS = (
    "/v2/orgs/{org}/groups/{group}/permissions",
    "/v2/orgs/acme/groups/devs/permissions",
)
REPO = "/v2/namespaces/{namespace}/repositories/{repository}"
PRIVATE, PUBLIC = {"is_private": True}, {"is_private": False}
ORGS, ORG = "/admin/v1/orgs", "/admin/v1/orgs/{name}"
REGEN, ADMIN_REGEN = "/v2/access-tokens/{uuid}/regenerate", "/admin/v1/tokens/{id}/regenerate"
NOTES, NOTE = "/admin/v1/notifications", "/admin/v1/notifications/{id}"

CALLS = [
    Call("get", "/token", 200, "/token?service=registry&scope=repository:alice/app:pull,push", "basic"),
    Call("get", "/token", 200, "/token?scope=repository:bob/app:pull"),
    Call("get", "/token", 200, "/token?offline_token=true&client_id=docker", "basic_password"),
    Call("get", "/token", 200, "/token?scope=repository:alice/app:pull", "basic_refresh"),
    Call("get", "/token", 400, "/token?service=elsewhere"),
    Call("get", "/token", 401, auth="basic_wrong"),
    Call("post", "/token", 200, form={**PASSWORD_FORM, "scope": "repository:alice/app:pull"}),
    Call("post", "/token", 200, form={"grant_type": "refresh_token", "refresh_token": "{refresh}", "access_type": "offline"}),
    Call("post", "/token", 400, form={"grant_type": "authorization_code"}),
    Call("post", "/token", 401, form={**PASSWORD_FORM, "password": "wrong-password"}),
    Call("post", "/token", 413, raw=BIG, content_type=FORM),
    Call("post", "/token", 415, raw=b"grant_type=password", content_type=FORM, encoding="br"),
    Call("get", "/healthz", 200),
    Call("get", "/openapi.json", 200),
    Call("post", "/v2/users/login", 200, json=LOGIN),
    Call("post", "/v2/users/login", 400, json={"username": "alice"}),
    Call("post", "/v2/users/login", 401, json={**LOGIN, "password": "wrong-password"}),
    Call("post", "/v2/users/login", 401, json={"username": "tess", "password": "tess-password"}),
    Call("post", "/v2/users/login", 413, raw=BIG),
    Call("post", "/v2/users/login", 415, raw=b"{}", encoding="zstd"),
    Call("post", "/v2/users/2fa-login", 200, json={"login_2fa_token": "{ticket}", "code": "{recovery}"}),
    Call("post", "/v2/users/2fa-login", 400, json={"code": "123456"}),
    Call("post", "/v2/users/2fa-login", 401, json={"login_2fa_token": "{ticket}", "code": "000000"}),
    Call("post", "/v2/users/2fa-login", 413, raw=BIG),
    Call("post", "/v2/auth/token", 200, json={"identifier": "alice", "secret": "{pat}"}),
    Call("post", "/v2/auth/token", 400, raw=b"[]"),
    Call("post", "/v2/auth/token", 401, json={"identifier": "alice", "secret": "nope-nope"}),
    Call("post", "/v2/auth/token", 413, raw=BIG),
    Call("get", "/v2/access-tokens", 200, auth="session"),
    Call("get", "/v2/access-tokens", 200, "/v2/access-tokens?page=2&page_size=1", "pat_session"),
    Call("get", "/v2/access-tokens", 200, "/v2/access-tokens?expiring=7d", "session"),
    Call("get", "/v2/access-tokens", 400, "/v2/access-tokens?expiring=soon", "session"),
    Call("get", "/v2/access-tokens", 400, "/v2/access-tokens?page_size=101", "session"),
    Call("get", "/v2/access-tokens", 401),
    Call("get", "/v2/access-tokens", 403, auth="admin_key"),
    Call("post", "/v2/access-tokens", 201, auth="session", json={"token_label": "ci", "scopes": ["repo:write"], "expires_at": "30d"}),
    Call("post", "/v2/access-tokens", 400, auth="session", json={"token_label": "ci"}),
    Call("post", "/v2/access-tokens", 401, json={"token_label": "ci", "scopes": ["repo:read"]}),
    Call("post", "/v2/access-tokens", 403, auth="pat_session", json={"token_label": "ci", "scopes": ["repo:read"]}),
    Call("post", "/v2/access-tokens", 413, auth="session", raw=BIG),
    Call("get", UUID, 200, UUID, "pat_session"),
    Call("get", UUID, 401, UUID),
    Call("get", UUID, 403, UUID, "admin_key"),
    Call("get", UUID, 404, NO_UUID, "session"),
    Call("patch", UUID, 200, UUID, "session", json={"is_active": False}),
    Call("patch", UUID, 400, UUID, "session", json={}),
    Call("patch", UUID, 401, UUID, json={"is_active": False}),
    Call("patch", UUID, 403, UUID, "pat_session", json={"is_active": False}),
    Call("patch", UUID, 404, NO_UUID, "session", json={"is_active": False}),
    Call("patch", UUID, 413, UUID, "session", raw=BIG),
    Call("delete", UUID, 204, UUID, "session"),
    Call("delete", UUID, 401, UUID),
    Call("delete", UUID, 403, UUID, "pat_session"),
    Call("delete", UUID, 404, NO_UUID, "session"),
    Call("post", REGEN, 200, REGEN, "session", json={"grace_period": "1h"}),
    Call("post", REGEN, 400, REGEN, "session", json={"grace_period": "forever"}),
    Call("post", REGEN, 401, REGEN, json={}),
    Call("post", REGEN, 403, REGEN, "pat_session", json={}),
    Call("post", REGEN, 404, f"{NO_UUID}/regenerate", "session", json={}),
    Call("post", REGEN, 409, "/v2/access-tokens/{refresh_id}/regenerate", "session", json={}),
    Call("post", REGEN, 413, REGEN, "session", raw=BIG),
    Call("post", "/v2/account/2fa/enroll", 200, auth="session"),
    Call("post", "/v2/account/2fa/enroll", 401),
    Call("post", "/v2/account/2fa/enroll", 403, auth="pat_session"),
    Call("post", "/v2/account/2fa/enroll", 409, auth="tess_session"),
    Call("post", "/v2/account/2fa/confirm", 200, auth="session", json={"code": "{totp}"}),
    Call("post", "/v2/account/2fa/confirm", 400, auth="session", json={"code": "000000"}),
    Call("post", "/v2/account/2fa/confirm", 401, json={"code": "{totp}"}),
    Call("post", "/v2/account/2fa/confirm", 403, auth="pat_session", json={"code": "{totp}"}),
    Call("post", "/v2/account/2fa/confirm", 409, auth="tess_session", json={"code": "000000"}),
    Call("post", "/v2/account/2fa/confirm", 413, auth="session", raw=BIG),
    Call("post", "/v2/account/2fa/disable", 204, auth="tess_session", json={"code": "{recovery2}"}),
    Call("post", "/v2/account/2fa/disable", 400, auth="tess_session", json={}),
    Call("post", "/v2/account/2fa/disable", 401, auth="session", json={"code": "123456"}),
    Call("post", "/v2/account/2fa/disable", 403, auth="pat_session", json={"code": "123456"}),
    Call("post", "/v2/account/2fa/disable", 413, auth="tess_session", raw=BIG),
    Call("get", "/v2/account/audit", 200, auth="session"),
    Call("get", "/v2/account/audit", 200, auth="pat_session"),
    Call("get", "/v2/account/audit", 401),
    Call("get", "/v2/account/audit", 403, auth="admin_key"),
    Call("post", "/v2/credentials/revoke", 202, json={"credentials": ["{pat}", "not-a-token"]}),
    Call("post", "/v2/credentials/revoke", 400, json={"credentials": "{pat}"}),
    Call("post", "/v2/credentials/revoke", 413, raw=BIG),
    Call("get", OTS, 200, ACME_OTS, "olivia_session"),
    Call("get", OTS, 200, f"{ACME_OTS}?page=2&page_size=1", "admin_key"),
    Call("get", OTS, 400, f"{ACME_OTS}?page_size=101", "olivia_session"),
    Call("get", OTS, 401, ACME_OTS),
    Call("get", OTS, 403, ACME_OTS, "dave_session"),  # members do not see the tokens
    Call("get", OTS, 403, ACME_OTS, "olivia_pat_session"),
    Call("get", OTS, 404, ACME_OTS, "session"),  # alice is not a member
    Call("get", OTS, 404, "/v2/orgs/nope/access-tokens", "olivia_session"),
    Call("post", OTS, 201, ACME_OTS, "olivia_session", json={"label": "ci", "description": "CI", "resources": RESOURCES, "expires_at": "30d"}),
    Call("post", OTS, 201, ACME_OTS, "admin_key", json={"label": "empty"}),
    Call("post", OTS, 400, ACME_OTS, "olivia_session", json={"resources": RESOURCES}),
    Call("post", OTS, 400, ACME_OTS, "olivia_session", json={"label": "x", "resources": [{"type": "TYPE_ORG", "path": "acme", "scopes": ["repo-pull"]}]}),
    Call("post", OTS, 401, ACME_OTS, json={"label": "ci"}),
    Call("post", OTS, 403, ACME_OTS, "dave_session", json={"label": "ci"}),
    Call("post", OTS, 404, ACME_OTS, "session", json={"label": "ci"}),
    Call("post", OTS, 413, ACME_OTS, "olivia_session", raw=BIG),
    Call("get", OT, 200, ACME_OT, "olivia_session"),
    Call("get", OT, 200, "/v2/orgs/acme/access-tokens/{org_token_id}", "admin_key"),
    Call("get", OT, 401, ACME_OT),
    Call("get", OT, 403, ACME_OT, "dave_session"),
    Call("get", OT, 404, NO_OT, "olivia_session"),
    Call("patch", OT, 200, ACME_OT, "olivia_session", json={"label": "renamed", "is_active": False, "resources": RESOURCES}),
    Call("patch", OT, 200, ACME_OT, "olivia_session", json={"description": "applied"}),
    Call("patch", OT, 400, ACME_OT, "olivia_session", json={}),
    Call("patch", OT, 401, ACME_OT, json={"is_active": False}),
    Call("patch", OT, 403, ACME_OT, "olivia_pat_session", json={"is_active": False}),
    Call("patch", OT, 404, NO_OT, "olivia_session", json={"is_active": False}),
    Call("patch", OT, 413, ACME_OT, "olivia_session", raw=BIG),
    Call("post", OT_REGEN, 200, f"{ACME_OT}/regenerate", "olivia_session", json={"grace_period": "1h"}),
    Call("post", OT_REGEN, 200, "/v2/orgs/acme/access-tokens/{org_token_id}/regenerate", "admin_key", json={}),
    Call("post", OT_REGEN, 400, f"{ACME_OT}/regenerate", "olivia_session", json={"grace_period": "8d"}),
    Call("post", OT_REGEN, 401, f"{ACME_OT}/regenerate", json={}),
    Call("post", OT_REGEN, 403, f"{ACME_OT}/regenerate", "dave_session", json={}),
    Call("post", OT_REGEN, 403, f"{ACME_OT}/regenerate", "olivia_pat_session", json={}),
    Call("post", OT_REGEN, 404, f"{NO_OT}/regenerate", "olivia_session", json={}),
    Call("post", OT_REGEN, 413, f"{ACME_OT}/regenerate", "olivia_session", raw=BIG),
    Call("delete", OT, 204, ACME_OT, "olivia_session"),
    Call("delete", OT, 401, ACME_OT),
    Call("delete", OT, 403, ACME_OT, "dave_session"),
    Call("delete", OT, 404, NO_OT, "admin_key"),
    Call("get", MEMBERS, 200, ACME_MEMBERS, "dave_session"),
    Call("get", MEMBERS, 200, ACME_MEMBERS, "olivia_pat_session"),
    Call("get", MEMBERS, 200, ACME_MEMBERS, "admin_key"),
    Call("get", MEMBERS, 401, ACME_MEMBERS),
    Call("get", MEMBERS, 404, ACME_MEMBERS, "session"),
    Call("get", MEMBERS, 401, "/v2/orgs/nope/members"),  # credentials first: existence is not revealed
    Call("put", MEMBER, 200, f"{ACME_MEMBER}alice", "olivia_session", json={"role": "member"}),
    Call("put", MEMBER, 200, f"{ACME_MEMBER}dave", "admin_key", json={"role": "Owner"}),
    Call("put", MEMBER, 400, f"{ACME_MEMBER}dave", "olivia_session", json={"role": "editor"}),
    Call("put", MEMBER, 401, f"{ACME_MEMBER}dave", json={"role": "owner"}),
    Call("put", MEMBER, 403, f"{ACME_MEMBER}dave", "dave_session", json={"role": "owner"}),
    Call("put", MEMBER, 404, f"{ACME_MEMBER}nobody", "olivia_session", json={"role": "member"}),
    Call("put", MEMBER, 409, f"{ACME_MEMBER}olivia", "olivia_session", json={"role": "member"}),
    Call("put", MEMBER, 413, f"{ACME_MEMBER}dave", "olivia_session", raw=BIG),
    Call("delete", MEMBER, 204, f"{ACME_MEMBER}dave", "olivia_session"),
    Call("delete", MEMBER, 401, f"{ACME_MEMBER}dave"),
    Call("delete", MEMBER, 403, f"{ACME_MEMBER}olivia", "dave_session"),
    Call("delete", MEMBER, 404, f"{ACME_MEMBER}alice", "olivia_session"),
    Call("delete", MEMBER, 409, f"{ACME_MEMBER}olivia", "olivia_session"),
    Call("get", GROUPS, 200, ACME_GROUPS, "dave_session"),
    Call("get", GROUPS, 401, ACME_GROUPS),
    Call("get", GROUPS, 404, ACME_GROUPS, "session"),
    Call("post", GROUPS, 201, ACME_GROUPS, "olivia_session", json={"name": "qa", "description": "Testers"}),
    Call("post", GROUPS, 400, ACME_GROUPS, "olivia_session", json={"name": "QA!"}),
    Call("post", GROUPS, 401, ACME_GROUPS, json={"name": "qa"}),
    Call("post", GROUPS, 403, ACME_GROUPS, "dave_session", json={"name": "qa"}),
    Call("post", GROUPS, 404, ACME_GROUPS, "session", json={"name": "qa"}),
    Call("post", GROUPS, 409, ACME_GROUPS, "olivia_session", json={"name": "devs"}),
    Call("post", GROUPS, 413, ACME_GROUPS, "olivia_session", raw=BIG),
    Call("get", GROUP, 200, DEVS, "dave_session"),
    Call("get", GROUP, 401, DEVS),
    Call("get", GROUP, 404, NO_GROUP, "dave_session"),
    Call("patch", GROUP, 200, DEVS, "olivia_session", json={"name": "developers", "description": "Everyone who ships"}),
    Call("patch", GROUP, 400, DEVS, "olivia_session", json={"name": "Dev Team"}),
    Call("patch", GROUP, 401, DEVS, json={"description": "x"}),
    Call("patch", GROUP, 403, DEVS, "dave_session", json={"description": "x"}),
    Call("patch", GROUP, 404, NO_GROUP, "olivia_session", json={"description": "x"}),
    Call("patch", GROUP, 409, DEVS, "olivia_session", json={"name": "ops"}),
    Call("patch", GROUP, 413, DEVS, "olivia_session", raw=BIG),
    Call("delete", GROUP, 204, DEVS, "olivia_session"),
    Call("delete", GROUP, 401, DEVS),
    Call("delete", GROUP, 403, DEVS, "dave_session"),
    Call("delete", GROUP, 404, NO_GROUP, "olivia_session"),
    Call("get", GROUP_MEMBERS, 200, DEVS_MEMBERS, "dave_session"),
    Call("get", GROUP_MEMBERS, 401, DEVS_MEMBERS),
    Call("get", GROUP_MEMBERS, 404, f"{NO_GROUP}/members", "dave_session"),
    Call("post", GROUP_MEMBERS, 200, DEVS_MEMBERS, "olivia_session", json={"member": "olivia"}),
    Call("post", GROUP_MEMBERS, 400, DEVS_MEMBERS, "olivia_session", json={"member": "alice"}),  # not in acme
    Call("post", GROUP_MEMBERS, 401, DEVS_MEMBERS, json={"member": "olivia"}),
    Call("post", GROUP_MEMBERS, 403, DEVS_MEMBERS, "dave_session", json={"member": "dave"}),
    Call("post", GROUP_MEMBERS, 404, DEVS_MEMBERS, "olivia_session", json={"member": "nobody"}),
    Call("post", GROUP_MEMBERS, 413, DEVS_MEMBERS, "olivia_session", raw=BIG),
    Call("delete", GROUP_MEMBER, 204, f"{DEVS_MEMBERS}/dave", "olivia_session"),
    Call("delete", GROUP_MEMBER, 401, f"{DEVS_MEMBERS}/dave"),
    Call("delete", GROUP_MEMBER, 403, f"{DEVS_MEMBERS}/dave", "dave_session"),
    Call("delete", GROUP_MEMBER, 404, f"{DEVS_MEMBERS}/olivia", "olivia_session"),  # not in devs
    Call("put", PERMISSIONS, 200, DEVS_PERMISSIONS, "olivia_session", json={"pattern": "ci/*", "permission": "write"}),
    Call("put", PERMISSIONS, 200, DEVS_PERMISSIONS, "admin_key", json={"pattern": "app", "permission": "none"}),
    Call("put", PERMISSIONS, 400, DEVS_PERMISSIONS, "olivia_session", json={"pattern": "acme/app", "permission": "read"}),
    Call("put", PERMISSIONS, 400, DEVS_PERMISSIONS, "olivia_session", json={"pattern": "app", "permission": "owner"}),
    Call("put", PERMISSIONS, 401, DEVS_PERMISSIONS, json={"pattern": "app", "permission": "read"}),
    Call("put", PERMISSIONS, 403, DEVS_PERMISSIONS, "olivia_pat_session", json={"pattern": "app", "permission": "read"}),
    Call("put", PERMISSIONS, 404, f"{NO_GROUP}/permissions", "olivia_session", json={"pattern": "app", "permission": "read"}),
    Call("put", PERMISSIONS, 413, DEVS_PERMISSIONS, "olivia_session", raw=BIG),
    Call("patch", REPO, 200, "/v2/namespaces/acme/repositories/ci/build", "olivia_session", json=PUBLIC),
    Call("patch", REPO, 200, "/v2/namespaces/alice/repositories/app", "session", json=PRIVATE),
    Call("patch", REPO, 200, "/v2/namespaces/alice/repositories/app", "admin_session", json=PUBLIC),
    Call("patch", REPO, 400, "/v2/namespaces/acme/repositories/app", "olivia_session", json={"is_private": "no"}),
    Call("patch", REPO, 401, "/v2/namespaces/acme/repositories/app", json=PUBLIC),
    Call("patch", REPO, 403, "/v2/namespaces/acme/repositories/app", "dave_session", json=PUBLIC),
    Call("patch", REPO, 403, "/v2/namespaces/alice/repositories/app", "pat_session", json=PUBLIC),
    Call("patch", REPO, 403, "/v2/namespaces/alice/repositories/app", "admin_key", json=PUBLIC),
    Call("patch", REPO, 403, "/v2/namespaces/olivia/repositories/app", "session", json=PUBLIC),
    Call("patch", REPO, 404, "/v2/namespaces/acme/repositories/app", "session", json=PUBLIC),
    Call("patch", REPO, 413, "/v2/namespaces/alice/repositories/app", "session", raw=BIG),
    Call("get", "/admin/v1/users", 200, auth="admin_key"),
    Call("get", "/admin/v1/users", 200, auth="admin_session"),
    Call("get", "/admin/v1/users", 401),
    Call("get", "/admin/v1/users", 403, auth="session"),
    Call("get", "/admin/v1/users", 403, auth="admin_pat_session"),
    Call("post", "/admin/v1/users", 201, auth="admin_key", json={"name": "carol", "admin": True}),
    Call("post", "/admin/v1/users", 400, auth="admin_key", json={"name": "Carol!"}),
    Call("post", "/admin/v1/users", 409, auth="admin_key", json={"name": "alice"}),
    Call("post", "/admin/v1/users", 413, auth="admin_key", raw=BIG),
    Call("get", "/admin/v1/users/{name}", 200, "/admin/v1/users/alice", "admin_key"),
    Call("get", "/admin/v1/users/{name}", 404, "/admin/v1/users/nobody", "admin_key"),
    Call("patch", "/admin/v1/users/{name}", 200, "/admin/v1/users/alice", "admin_key", json={"disabled": True}),
    Call("patch", "/admin/v1/users/{name}", 200, "/admin/v1/users/tess", "admin_key", json={"two_factor": False}),
    Call("patch", "/admin/v1/users/{name}", 400, "/admin/v1/users/alice", "admin_key", json={"admin": "yes"}),
    Call("patch", "/admin/v1/users/{name}", 400, "/admin/v1/users/tess", "admin_key", json={"two_factor": True}),
    Call("patch", "/admin/v1/users/{name}", 404, "/admin/v1/users/nobody", "admin_key", json={"disabled": True}),
    Call("get", "/admin/v1/tokens", 200, "/admin/v1/tokens?user=alice&state=active&kind=manual", "admin_key"),
    Call("get", "/admin/v1/tokens", 400, "/admin/v1/tokens?state=revoked", "admin_key"),
    Call("get", "/admin/v1/tokens/{id}", 200, "/admin/v1/tokens/{id}", "admin_key"),
    Call("get", "/admin/v1/tokens/{id}", 404, "/admin/v1/tokens/0000000000", "admin_key"),
    Call("patch", "/admin/v1/tokens/{id}", 200, "/admin/v1/tokens/{id}", "admin_key", json={"description": "renamed", "active": False}),
    Call("patch", "/admin/v1/tokens/{id}", 400, "/admin/v1/tokens/{id}", "admin_key", json={}),
    Call("delete", "/admin/v1/tokens/{id}", 204, "/admin/v1/tokens/{id}", "admin_key"),
    Call("delete", "/admin/v1/tokens/{id}", 404, "/admin/v1/tokens/0000000000", "admin_key"),
    Call("get", "/admin/v1/tokens", 200, "/admin/v1/tokens?expiring=7d", "admin_key"),
    Call("get", "/admin/v1/tokens", 400, "/admin/v1/tokens?expiring=7", "admin_key"),
    Call("post", ADMIN_REGEN, 200, ADMIN_REGEN, "admin_key", json={}),
    Call("post", ADMIN_REGEN, 400, ADMIN_REGEN, "admin_key", json={"grace": "1h"}),
    Call("post", ADMIN_REGEN, 404, "/admin/v1/tokens/0000000000/regenerate", "admin_key", json={}),
    Call("post", ADMIN_REGEN, 409, "/admin/v1/tokens/{refresh_id}/regenerate", "admin_key", json={}),
    Call("get", "/admin/v1/stale-tokens", 200, "/admin/v1/stale-tokens?unused=0", "admin_key"),
    Call("get", "/admin/v1/stale-tokens", 400, "/admin/v1/stale-tokens?unused=90", "admin_key"),
    Call("get", NOTES, 200, f"{NOTES}?state=pending", "admin_key"),
    Call("get", NOTES, 400, f"{NOTES}?state=lost", "admin_key"),
    Call("get", NOTE, 200, "/admin/v1/notifications/{notification}", "admin_key"),
    Call("get", NOTE, 404, "/admin/v1/notifications/nope", "admin_key"),
    Call("post", f"{NOTE}/retry", 200, "/admin/v1/notifications/{notification}/retry", "admin_key"),
    Call("post", f"{NOTE}/retry", 404, "/admin/v1/notifications/nope/retry", "admin_key"),
    Call("post", f"{NOTE}/retry", 409, "/admin/v1/notifications/{delivered}/retry", "admin_key"),
    Call("get", "/admin/v1/repositories", 200, auth="admin_key"),
    Call("patch", "/admin/v1/repositories/{name}", 200, "/admin/v1/repositories/team/app", "admin_key", json={"visibility": "public"}),
    Call("patch", "/admin/v1/repositories/{name}", 400, "/admin/v1/repositories/team/app", "admin_key", json={"visibility": "secret"}),
    Call("get", "/admin/v1/audit", 200, "/admin/v1/audit?action=user.create&since=0", "admin_key"),
    Call("get", "/admin/v1/audit", 400, "/admin/v1/audit?limit=0", "admin_key"),
    Call("post", "/admin/v1/explain", 200, auth="admin_key", json={"scope": "repository:alice/app:pull,push", "user": "alice"}),
    Call("post", "/admin/v1/explain", 200, auth="admin_key", json={"scope": "repository:bob/app:push bad", "token": "{id}"}),
    Call("post", "/admin/v1/explain", 400, auth="admin_key", json={"scope": "repository:alice/app:pull"}),
    Call("post", "/admin/v1/explain", 404, auth="admin_key", json={"scope": "repository:alice/app:pull", "user": "nobody"}),
    Call("get", ORGS, 200, auth="admin_key"),
    Call("get", ORGS, 401),
    Call("get", ORGS, 403, auth="olivia_session"),
    Call("post", ORGS, 201, auth="admin_session", json={"name": "globex", "owner": "alice"}),
    Call("post", ORGS, 400, auth="admin_key", json={"name": "Globex!", "owner": "alice"}),
    Call("post", ORGS, 401, json={"name": "globex", "owner": "alice"}),
    Call("post", ORGS, 403, auth="admin_pat_session", json={"name": "globex", "owner": "alice"}),
    Call("post", ORGS, 404, auth="admin_key", json={"name": "globex", "owner": "nobody"}),
    Call("post", ORGS, 409, auth="admin_key", json={"name": "alice", "owner": "alice"}),
    Call("post", ORGS, 409, auth="admin_key", json={"name": "acme", "owner": "alice"}),
    Call("post", ORGS, 413, auth="admin_key", raw=BIG),
    Call("delete", ORG, 204, "/admin/v1/orgs/acme", "admin_key"),
    Call("delete", ORG, 401, "/admin/v1/orgs/acme"),
    Call("delete", ORG, 403, "/admin/v1/orgs/acme", "olivia_session"),
    Call("delete", ORG, 404, "/admin/v1/orgs/nope", "admin_key"),
]  # fmt: skip


@dataclass(frozen=True)
class Setup:
    client: Client
    headers: dict[str, dict[str, str]]
    values: dict[str, str]


@pytest.fixture
async def setup(
    runtime: Runtime, clock: FakeClock, app: web.Application, aiohttp_client: Any
) -> Setup:
    # `runtime` comes first so it is torn down last: the client's shutdown flushes the app's
    # batched writes into its database.
    add_user(runtime, "alice", "alice-password")
    add_user(runtime, "root", "root-password", admin=True)
    add_user(runtime, "tess", "tess-password")  # with two-factor authentication
    add_user(runtime, "olivia", "olivia-password")  # owns the organization acme
    add_user(runtime, "dave", "dave-password")  # a member of acme
    alice, tess = runtime.users.get("alice"), runtime.users.get("tess")
    org_token = _organization(runtime)
    pat = add_token(runtime, "alice", AccessLevel.WRITE)
    add_token(runtime, "alice", AccessLevel.READ)
    root_pat = add_token(runtime, "root")
    record = runtime.tokens.get(parse_token(pat).public_id)
    refresh = runtime.tokens.create_session_token(
        alice, client_id="docker", ip=None, user_agent=None
    )
    admin_key = runtime.admin_keys.create("tests", CLI_ACTOR).secret
    alice_totp = pyotp.TOTP(runtime.two_factor.enroll(alice, CLI_ACTOR).secret)
    tess_totp = pyotp.TOTP(runtime.two_factor.enroll(tess, CLI_ACTOR).secret)
    recovery = runtime.two_factor.confirm(tess, CLI_ACTOR, tess_totp.at(clock.now))
    client = await aiohttp_client(app)
    challenge = await client.post(
        "/v2/users/login", json={"username": "tess", "password": "tess-password"}
    )
    ticket = (await challenge.json())["login_2fa_token"]
    tess_session = runtime.sessions.complete_second_factor(ticket, recovery[0], None, None)

    async def session(username: str, secret: str) -> dict[str, str]:
        return await sign_in(client, username, secret)

    headers = {
        "basic": basic("alice", pat),
        "basic_wrong": basic("alice", "wrong-password"),
        "basic_password": basic("alice", "alice-password"),
        "basic_refresh": basic("", str(refresh.token)),
        "session": await session("alice", "alice-password"),
        "pat_session": await session("alice", pat),
        "admin_session": await session("root", "root-password"),
        "admin_pat_session": await session("root", root_pat),
        "admin_key": {"Authorization": f"Bearer {admin_key}"},
        "tess_session": {"Authorization": f"Bearer {tess_session}"},
        "olivia_session": await session("olivia", "olivia-password"),
        "olivia_pat_session": await session("olivia", add_token(runtime, "olivia")),
        "dave_session": await session("dave", "dave-password"),
    }
    values = {
        "pat": pat,
        "uuid": record.uuid,
        "id": record.id,
        "refresh": str(refresh.token),
        "ticket": ticket,
        "recovery": recovery[1],
        "recovery2": recovery[2],
        "totp": alice_totp.at(clock.now),
        "org_token": org_token.uuid,
        "org_token_id": org_token.id,
        "refresh_id": refresh.record.id,
        "notification": _notification(runtime, clock, "pending"),
        "delivered": _notification(runtime, clock, "delivered"),
    }
    return Setup(client, headers, values)


def _organization(runtime: Runtime) -> OrgTokenRecord:
    """acme: olivia owns it, dave is in group devs (read on app), ops is empty; two tokens."""
    orgs = runtime.organizations
    org = orgs.create("acme", runtime.users.get("olivia"), CLI_ACTOR)
    dave = runtime.users.get("dave")
    orgs.set_member(org, dave, OrgRole.MEMBER, CLI_ACTOR)
    devs = orgs.create_team(org, "devs", "Developers", CLI_ACTOR)
    orgs.create_team(org, "ops", "", CLI_ACTOR)
    orgs.add_team_member(org, devs, dave, CLI_ACTOR)
    orgs.set_permission(org, devs, "app", TeamPermission.READ, CLI_ACTOR)
    for label, public_read in [("deploy", False), ("ci", True)]:
        record = runtime.org_tokens.create(
            org,
            CLI_ACTOR,
            label=label,
            description="",
            resources={"acme/app": frozenset({PULL})},
            public_read=public_read,
            expires_at=None,
        ).record
    return record


def _notification(runtime: Runtime, clock: FakeClock, name: str) -> str:
    """A webhook notification kept (as a revocation would with a webhook configured): its id."""
    now = int(clock())
    payload = {"event": "credential.leaked_revoked", "token": {"kind": "personal", "id": name}}
    kept = Notification(
        id=str(uuid.uuid5(uuid.NAMESPACE_URL, name)),
        event="credential.leaked_revoked",
        dedup_key=name,
        payload=json.dumps(payload),
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        delivered_at=None,
        failed_at=None,
        last_status=None,
        last_error=None,
    )
    runtime.store.add_notification(kept)
    if name == "delivered":
        runtime.store.finish_notification(
            kept.id, now=now, delivered=True, status=200, error=None, retry_at=None
        )
    return kept.id


def _fill(value: Any, values: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**values)
    if isinstance(value, dict):
        return {k: _fill(v, values) for k, v in value.items()}
    return value


def test_every_operation_has_a_response_check() -> None:
    unchecked = documented_operations(spec()) - {(c.method, c.template) for c in CALLS}
    assert not unchecked, f"add a Call for: {sorted(unchecked)}"


@pytest.mark.parametrize("call", CALLS, ids=str)
async def test_responses_match_the_document(setup: Setup, call: Call) -> None:
    headers = dict(setup.headers[call.auth]) if call.auth else {}
    kwargs: dict[str, Any] = {}
    if call.encoding is not None:
        headers[hdrs.CONTENT_ENCODING] = call.encoding
    if call.raw is not None:
        kwargs["data"], headers[hdrs.CONTENT_TYPE] = call.raw, call.content_type
    elif call.form is not None:
        kwargs["data"] = _fill(call.form, setup.values)
    elif call.json is not None:
        kwargs["json"] = _fill(call.json, setup.values)
    path = _fill(call.path or call.template, setup.values)
    response = await setup.client.request(call.method, path, headers=headers, **kwargs)
    raw = await response.read()
    assert response.status == call.status, raw.decode()

    doc = spec()
    documented = doc["paths"][call.template][call.method]["responses"]
    assert str(call.status) in documented, f"{call} is not documented"
    answer = documented[str(call.status)]
    if "$ref" in answer:
        answer = resolve(doc, answer["$ref"])
    for name in answer.get("headers", {}):
        assert name in response.headers, f"documented header {name} was not sent"
    content = answer.get("content")
    if content is None:
        assert raw == b""
        return
    assert response.content_type in content, response.content_type
    schema = content[response.content_type]["schema"]
    # The schema sits in a copy of the document so its `#/components/...` references resolve.
    validator = OAS30Validator(
        {**schema, "components": doc["components"]}, format_checker=oas30_format_checker
    )
    body = json.loads(raw)
    errors = [f"{list(e.absolute_path)}: {e.message}" for e in validator.iter_errors(body)]
    assert not errors, "\n".join(errors)
    extra = undocumented(body, schema, doc)
    assert not extra, f"sent but not documented: {extra}"


def undocumented(
    value: Any, schema: dict[str, Any], doc: dict[str, Any], where: str = "body"
) -> list[str]:
    """Fields of a response its schema does not name (the validator lets extra fields pass)."""
    parts = _parts(schema, doc)
    if isinstance(value, list):
        items = [part["items"] for part in parts if "items" in part]
        return [
            m
            for i, v in enumerate(value)
            for s in items
            for m in undocumented(v, s, doc, f"{where}[{i}]")
        ]
    if not isinstance(value, dict):
        return []
    properties: dict[str, Any] = {}
    for part in parts:
        properties.update(part.get("properties", {}))
    # A free-form object (no `properties`, or `additionalProperties`) documents any field.
    if not properties or any(part.get("additionalProperties") for part in parts):
        return []
    found = []
    for key, item in value.items():
        if key in properties:
            found += undocumented(item, properties[key], doc, f"{where}.{key}")
        else:
            found.append(f"{where}.{key}")
    return found


def _parts(schema: dict[str, Any], doc: dict[str, Any]) -> list[dict[str, Any]]:
    """The schema and everything it is made of through `$ref` and `allOf`."""
    if "$ref" in schema:
        return _parts(resolve(doc, schema["$ref"]), doc)
    return [schema] + [p for sub in schema.get("allOf", []) for p in _parts(sub, doc)]


@pytest.mark.parametrize(
    ("value", "schema", "expected"),
    [
        ({"a": 1}, {"properties": {"a": {}}}, []),
        ({"a": 1, "b": 2}, {"properties": {"a": {}}}, ["body.b"]),
        ({"b": 2}, {"allOf": [{"properties": {"a": {}}}, {"properties": {"b": {}}}]}, []),
        ({"a": {"c": 1}}, {"properties": {"a": {"properties": {"b": {}}}}}, ["body.a.c"]),
        ([{"a": 1, "z": 0}], {"items": {"properties": {"a": {}}}}, ["body[0].z"]),
        ({"x": 1}, {"type": "object"}, []),
        ({"x": 1}, {"properties": {"a": {}}, "additionalProperties": True}, []),
        ({"z": 1}, {"$ref": "#/components/schemas/Health"}, ["body.z"]),
    ],
)
def test_undocumented_finds_extra_fields(
    value: Any, schema: dict[str, Any], expected: list[str]
) -> None:
    assert undocumented(value, schema, spec()) == expected
