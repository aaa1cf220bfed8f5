"""No credential reaches a log line: the real app with its access log, every way one can get in.

Each test reads what was written to fd 2 (the access log) and every log record, formatted as the
server writes it. The session's own check (tests/support/log_check.py) looks at all the other
tests' logs the same way.
"""

from __future__ import annotations

import base64
import json
import logging
from dataclasses import dataclass
from typing import Any

import pytest

from regauth.domain.models import AuditQuery
from regauth.domain.tokens import parse_token
from regauth.domain.usernames import INVALID
from regauth.logs import REPLACED_LOGGERS, JsonFormatter
from regauth.runtime import Runtime
from tests.support.builders import Client, add_org, add_token, add_user, basic, sign_in


@dataclass
class Logged:
    """What one app wrote: its access lines (fd 2), and its log records as the server writes them
    (and, for regauth's own records, as they were made: nothing to scrub in them either)."""

    access: list[dict[str, Any]]
    access_text: str
    records_text: str
    raw_text: str

    def paths(self) -> list[str]:
        return [line["path"] for line in self.access]

    def assert_none_of(self, *secrets: str) -> None:
        for secret in secrets:
            for form in (secret, base64.b64encode(secret.encode()).decode()):
                assert form not in self.access_text
                assert form not in self.records_text
                assert form not in self.raw_text


@dataclass
class App:
    client: Client
    runtime: Runtime
    pat: str
    org_pat: str
    admin: dict[str, str]  # an admin's API session
    owner: dict[str, str]  # acme's owner's API session
    capfd: pytest.CaptureFixture[str]
    caplog: pytest.LogCaptureFixture

    async def logged(self) -> Logged:
        await self.client.close()  # shutdown writes the buffered access lines
        text = self.capfd.readouterr().err
        lines = [json.loads(line) for line in text.splitlines() if line.startswith("{")]
        # aiohttp's access log runs in the test server; the server disables it (logs.configure)
        records = [r for r in self.caplog.records if r.name not in REPLACED_LOGGERS]
        formatter = JsonFormatter()
        return Logged(
            [line for line in lines if line.get("event") == "request"],
            text,
            "\n".join(formatter.format(r) for r in records),
            "\n".join(
                json.dumps(r.__dict__, default=str) for r in records if r.name.startswith("regauth")
            ),
        )


@pytest.fixture
async def app(
    runtime: Runtime,
    client: Client,
    capfd: pytest.CaptureFixture[str],
    caplog: pytest.LogCaptureFixture,
) -> App:
    assert runtime.config.server.access_log  # tests/conftest.py's config: on, as by default
    add_user(runtime, "alice")
    add_user(runtime, "root", admin=True)
    add_org(runtime, "acme", "alice")
    pat = add_token(runtime, "alice")
    caplog.set_level(logging.DEBUG)
    owner = await sign_in(client, "alice")
    response = await client.post(
        "/v2/orgs/acme/access-tokens",
        json={"label": "ci", "resources": [{"type": "TYPE_REPO", "path": "acme/app", "scopes": ["scope-image-pull"]}]},
        headers=owner,
    )  # fmt: skip
    assert response.status == 201, await response.text()
    org_pat = (await response.json())["token"]
    admin = await sign_in(client, "root")
    return App(client, runtime, pat, org_pat, admin, owner, capfd, caplog)


def marker(token: str) -> str:
    parsed = parse_token(token)
    return f"{parsed.kind.prefix}{parsed.public_id}<redacted>"


def jwt_of(session: dict[str, str]) -> str:
    return session["Authorization"].removeprefix("Bearer ")


async def test_no_secret_reaches_a_log_line_at_the_token_endpoint(app: App) -> None:
    client, pat = app.client, app.pat
    secrets_used = [pat, "alice-password", "wrong-password-x"]
    for secret in secrets_used:
        await client.get(
            f"/token?scope=repository:bob/x:pull&scope=bad&scope=repository:{pat}:pull",
            headers=basic("alice", secret),
        )
    await client.post(  # a password in the username field, and a PAT as a scope
        "/token",
        data={"grant_type": "password", "username": "wrong-password-x", "password": "x",
              "scope": f"repository:{pat}:pull"},
    )  # fmt: skip
    response = await client.get("/token?scope=repository:alice/x:pull", headers=basic("alice", pat))
    jwt_text = (await response.json())["token"]
    logged = await app.logged()
    assert "scope_denied" in logged.records_text  # we did log
    assert marker(pat) in logged.records_text  # the PAT sent as a scope, as its marker
    assert logged.paths().count("/token") == 5
    logged.assert_none_of(
        *secrets_used, jwt_text, jwt_of(app.owner), jwt_of(app.admin), f"alice:{pat}"
    )


@pytest.mark.parametrize(
    ("method", "path", "logged_path"),
    [
        # the issue's own example: answers 404 (no such id) and used to log the PAT
        ("GET", "/admin/v1/tokens/{pat}", "/admin/v1/tokens/{pat_marker}"),
        ("PATCH", "/admin/v1/tokens/{pat}", "/admin/v1/tokens/{pat_marker}"),
        ("DELETE", "/admin/v1/tokens/{pat}", "/admin/v1/tokens/{pat_marker}"),
        # a parameter named "token" invites pasting one
        ("GET", "/v2/orgs/acme/access-tokens/{org_pat}", "/v2/orgs/acme/access-tokens/{org_marker}"),
        ("PATCH", "/v2/orgs/acme/access-tokens/{org_pat}", "/v2/orgs/acme/access-tokens/{org_marker}"),
        ("DELETE", "/v2/orgs/acme/access-tokens/{org_pat}", "/v2/orgs/acme/access-tokens/{org_marker}"),
        ("GET", "/v2/access-tokens/{pat}", "/v2/access-tokens/{pat_marker}"),
        ("GET", "/v2/access-tokens/{jwt}", "/v2/access-tokens/<redacted jwt>"),
        ("DELETE", "/v2/access-tokens/{jwt}", "/v2/access-tokens/<redacted jwt>"),
        ("GET", "/admin/v1/users/{pat}", "/admin/v1/users/{pat_marker}"),
        ("GET", "/admin/v1/users/{jwt}", "/admin/v1/users/<redacted jwt>"),
        ("PATCH", "/v2/namespaces/acme/repositories/{org_pat}", "/v2/namespaces/acme/repositories/{org_marker}"),
        ("GET", "/nowhere/{pat}/{jwt}", "/nowhere/{pat_marker}/<redacted jwt>"),  # no route: 404
        ("PUT", "/token/{pat}", "/token/{pat_marker}"),
        # percent-encoded, or cut short by its checksum (the whole secret is still in it)
        ("GET", "/admin/v1/tokens/{pat_encoded}", "/admin/v1/tokens/{pat_marker}"),
        ("GET", "/admin/v1/tokens/{pat_cut}", "/admin/v1/tokens/rgp_<redacted>"),
    ],
)  # fmt: skip
@pytest.mark.parametrize("who", ["anonymous", "admin", "owner"])
async def test_a_credential_in_the_path_is_not_logged(
    app: App, method: str, path: str, logged_path: str, who: str
) -> None:
    jwt = jwt_of(app.admin)
    values = {
        "pat": app.pat,
        "org_pat": app.org_pat,
        "jwt": jwt,
        "pat_encoded": app.pat.replace("_", "%5F"),
        "pat_cut": app.pat[:-6],
        "pat_marker": marker(app.pat),
        "org_marker": marker(app.org_pat),
    }
    headers = {"anonymous": {}, "admin": app.admin, "owner": app.owner}[who]
    response = await app.client.request(method, path.format(**values), headers=headers, json={})
    assert 400 <= response.status < 500
    logged = await app.logged()
    assert logged.paths()[-1] == logged_path.format(**values)
    logged.assert_none_of(app.pat, app.pat[4:-6], app.org_pat, jwt, jwt_of(app.owner))


async def test_a_credential_as_the_request_id_or_the_method_is_not_logged(app: App) -> None:
    jwt = jwt_of(app.admin)
    # 52 of [A-Za-z0-9._-]: a client's id is kept, but not this one (it is echoed back and
    # would be on every log line of the request): the service makes its own.
    first = await app.client.get("/healthz", headers={"X-Request-Id": app.pat})
    second = await app.client.get("/v2/access-tokens", headers={"X-Request-Id": jwt[:64]})
    kept = await app.client.get("/healthz", headers={"X-Request-Id": "ci-run-42.step_3"})
    assert kept.headers["X-Request-Id"] == "ci-run-42.step_3"
    made = [first.headers["X-Request-Id"], second.headers["X-Request-Id"]]
    assert app.pat not in made and jwt[:64] not in made
    # aiohttp's parser refuses a method it does not know, and logs it upper-cased
    assert (await app.client.request(app.pat, "/token")).status == 400
    logged = await app.logged()
    assert [line["request_id"] for line in logged.access[-3:]] == [*made, "ci-run-42.step_3"]
    assert "RGP_<redacted>" in logged.records_text
    logged.assert_none_of(app.pat, app.pat[4:-6], app.pat.upper()[4:-6], jwt[:64])


@pytest.mark.parametrize(
    ("send", "presented"),
    [
        ("basic", "alice"),
        ("basic", "Tr0ub4dor&3"),  # a password typed into the username field
        ("basic", "{pat}"),
        ("form", "correct horse battery staple"),
        ("login", "Tr0ub4dor&3"),
        ("auth_token", "Tr0ub4dor&3"),
    ],
)
async def test_a_failed_sign_in_is_audited_under_a_valid_name_only(
    app: App, send: str, presented: str
) -> None:
    client, name = app.client, presented.format(pat=app.pat)
    if send == "basic":
        response = await client.get("/token", headers=basic(name, "wrong-password"))
    elif send == "form":
        form = {"grant_type": "password", "username": name, "password": "wrong-password"}
        response = await client.post("/token", data=form)
    elif send == "login":
        response = await client.post("/v2/users/login", json={"username": name, "password": "x"})
    else:
        response = await client.post("/v2/auth/token", json={"identifier": name, "secret": "x"})
    assert response.status == 401
    app.runtime.audit.flush()
    listed = await client.get("/admin/v1/audit?action=auth.failed", headers=app.admin)
    (event,) = (await listed.json())["events"]
    expected = name if name == "alice" else INVALID
    assert (event["actor"], event["target"]) == (expected, expected)
    stored = app.runtime.audit.list(AuditQuery(action="auth.failed"))
    assert [(e.actor, e.target) for e in stored] == [(expected, expected)]
    if name != "alice":
        (await app.logged()).assert_none_of(name)
