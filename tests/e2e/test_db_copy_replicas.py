"""From the embedded default to PostgreSQL, as an operator moves: a regauth on SQLite, used by
people (a PAT, an organization token, an account with two-factor on) is stopped, `regauth db
copy --to postgresql://...` moves its data, and two replicas on that database, with the old
[keys] dir, serve behind HAProxy. Every credential made before the move works through the
balancer afterwards; what was refused before is still refused."""

from __future__ import annotations

import base64
import json
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pyotp
import pytest

from tests.e2e.harness.processes import HttpAnswer, http_get, http_request
from tests.e2e.harness.regauth import SERVICE, Flavour, PasswordUser, RegauthServer
from tests.e2e.harness.replicas import Deployment, SharedStorage, shared_storage
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.e2e


@dataclass(frozen=True)
class Before:
    """What the SQLite deployment handed out before the move."""

    alice: PasswordUser
    pat: str
    org_token: str
    bob: PasswordUser
    totp: pyotp.TOTP
    recovery_codes: list[str]


def _sqlite_deployment(server: RegauthServer) -> Before:
    """People and CI using the embedded default: through its CLI and its account API."""
    alice = server.cli.new_password_user("alice")
    pat = server.cli.create_pat(alice.name, "write")
    bob = server.cli.new_password_user("bob")
    session = server.api.sign_in(bob.name, bob.password)
    totp = pyotp.TOTP(str(session.enroll_two_factor()["secret"]))
    recovery_codes = session.confirm_two_factor(totp.now())
    server.cli.check("org", "create", "acme", "--owner", alice.name)
    argv = ["org-token", "create", "acme", "--label", "ci", "--repo", "acme/app:pull,push"]
    org_token = server.cli.check(*argv).strip()
    return Before(alice, pat, org_token, bob, totp, recovery_codes)


@pytest.fixture(scope="module")
def moved(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Before, Deployment]]:
    root = tmp_path_factory.mktemp("moved")
    postgres_server.start()
    old = RegauthServer(root / "sqlite", Flavour("sqlite"))
    old.start()
    try:
        before = _sqlite_deployment(old)
    finally:
        old.stop()
    database = postgres_server.create_database()
    fresh = shared_storage(root, database.url)
    # The old [keys] dir is the deployment's: its HMAC secret verifies every PAT it made.
    storage = SharedStorage(fresh.url, fresh.password_file, keys_dir=old.keys_dir)
    copied = old.cli.run(
        "db", "copy", "--to", storage.url, "--to-password-file", str(storage.password_file)
    )
    assert copied.ok, copied
    deployment = Deployment(root / "replicas", storage)
    try:
        deployment.start()
        yield before, deployment
    finally:
        deployment.stop()
        postgres_server.drop_database(database.name)


def _token(base_url: str, name: str, secret: str, scope: str) -> HttpAnswer:
    query = urllib.parse.urlencode({"service": SERVICE, "scope": scope})
    basic = base64.b64encode(f"{name}:{secret}".encode()).decode()
    return http_get(f"{base_url}/token?{query}", {"Authorization": f"Basic {basic}"})


def _granted(answer: HttpAnswer) -> list[dict[str, Any]]:
    assert answer.status == 200, answer
    segment = str(answer.json()["token"]).split(".")[1]
    claims = json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4)))
    return list(claims["access"])


def _addresses(deployment: Deployment) -> list[str]:
    """Each replica itself, and the balancer in front of them."""
    return [*(replica.url for replica in deployment.replicas), deployment.public_url]


def test_an_old_pat_works_through_the_replicas(moved: tuple[Before, Deployment]) -> None:
    before, deployment = moved
    repository = f"{before.alice.name}/app"
    for url in _addresses(deployment):
        answer = _token(url, before.alice.name, before.pat, f"repository:{repository}:push")
        assert _granted(answer) == [
            {"type": "repository", "name": repository, "actions": ["push"]}
        ], url
    # The control: a PAT it never made is still refused.
    forged = _token(deployment.public_url, before.alice.name, before.pat[:-3] + "abc", "")
    assert forged.status == 401


def test_an_old_organization_token_reaches_its_repository_and_nothing_else(
    moved: tuple[Before, Deployment],
) -> None:
    before, deployment = moved
    for url in _addresses(deployment):
        granted = _granted(_token(url, "acme", before.org_token, "repository:acme/app:push"))
        assert granted == [{"type": "repository", "name": "acme/app", "actions": ["push"]}], url
        elsewhere = _token(url, "acme", before.org_token, "repository:acme/other:pull")
        assert _granted(elsewhere) == [], url


def test_two_factor_still_asks_for_the_second_step_and_takes_a_recovery_code(
    moved: tuple[Before, Deployment],
) -> None:
    before, deployment = moved
    login = f"{deployment.public_url}/v2/users/login"
    credentials = {"username": before.bob.name, "password": before.bob.password}
    first = http_request("POST", login, json_body=credentials)
    assert first.status == 401, first
    ticket = first.json()["login_2fa_token"]
    second_step = f"{deployment.public_url}/v2/users/2fa-login"
    wrong = http_request("POST", second_step, json_body={"login_2fa_token": ticket, "code": "0"})
    assert wrong.status == 401
    first = http_request("POST", login, json_body=credentials)
    ticket = first.json()["login_2fa_token"]
    signed_in = http_request(
        "POST",
        second_step,
        json_body={"login_2fa_token": ticket, "code": before.recovery_codes[0]},
    )
    assert signed_in.status == 200, signed_in
    assert signed_in.json()["token"]
    # The copied secret is the one the authenticator app holds: the code of the next step
    # (the one of the current step may have been spent on the confirmation before the
    # move; one step ahead is within the drift allowed, and later than any step used).
    first = http_request("POST", login, json_body=credentials)
    ticket = first.json()["login_2fa_token"]
    code = before.totp.at(time.time() + before.totp.interval)
    by_code = http_request("POST", second_step, json_body={"login_2fa_token": ticket, "code": code})
    assert by_code.status == 200, by_code
