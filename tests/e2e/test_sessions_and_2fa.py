"""docker's refresh-token flow against regauth's auto-generated session tokens, two-factor
accounts, and sign-in throttling, all seen through a real dockerd and its config.json."""

from __future__ import annotations

import base64
from collections.abc import Callable
from typing import Any

import pyotp
import pytest

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import PasswordUser, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

DockerClients = Callable[[str], DockerClient]
SESSION_TOKENS_PER_ACCOUNT = 5  # [limits] session_tokens_per_account, left at its default
# What the daemon says when regauth refuses a token docker holds (evicted, deleted).
SIGNED_OUT = "unauthorized: this sign-in session has ended: run docker login again"


def _stored(docker: DockerClient, registry: Registry) -> dict[str, str]:
    entry = docker.stored_auths()[registry.host]
    assert isinstance(entry, dict), entry
    return {str(key): str(value) for key, value in entry.items()}


def _decoded_auth(entry: dict[str, str]) -> str:
    return base64.b64decode(entry["auth"]).decode()


def _password_login(docker: DockerClient, registry: Registry, user: PasswordUser) -> str:
    """docker login with the password; the identity token docker kept instead of it."""
    login = docker.login(registry.host, user.name, user.password)
    assert login.ok, login
    return _stored(docker, registry)["identitytoken"]


def _push(docker: DockerClient, registry: Registry, image: BuiltImage, user: str) -> str:
    reference = registry.reference(f"{user}/app")
    docker.load_as(image.docker_archive, image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    return reference


def _auto_tokens(regauth: RegauthServer, user: PasswordUser) -> list[dict[str, Any]]:
    tokens = regauth.api.sign_in(user.name, user.password).tokens()
    return [token for token in tokens if token["generated_by"] == "auto"]


def _issued(identity_token: str, token: dict[str, Any]) -> bool:
    # A token's public id follows its prefix: rgs_<id><secret>.
    return identity_token.startswith(f"rgs_{token['id']}")


# --- refresh tokens ------------------------------------------------------------------------------


def test_password_login_stores_a_session_token_and_no_password(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    user = regauth.cli.new_password_user("refresh")

    identity_token = _password_login(docker, registry, user)

    entry = _stored(docker, registry)
    assert identity_token.startswith("rgs_"), entry
    assert _decoded_auth(entry) == f"{user.name}:"
    assert user.password not in docker.config_text()
    (auto,) = _auto_tokens(regauth, user)
    assert _issued(identity_token, auto), (identity_token, auto)

    mark = regauth.log_size()
    reference = _push(docker, registry, test_image, user.name)
    assert docker.run("rmi", "--force", test_image.image_id).ok
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled
    assert f"Downloaded newer image for {reference}" in pulled.stdout
    # Holding an identity token, docker asks only with POST grant_type=refresh_token.
    token_requests = [(m, s) for m, path, s in regauth.requests_since(mark) if path == "/token"]
    assert token_requests, "no /token request in regauth's log during push and pull"
    assert set(token_requests) == {("POST", 200)}, token_requests


def test_sixth_password_login_signs_the_first_client_out(
    docker_clients: DockerClients,
    registry: Registry,
    regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    user = regauth.cli.new_password_user("evict")
    first = docker_clients("first")
    first_token = _password_login(first, registry, user)
    reference = _push(first, registry, test_image, user.name)

    others = [docker_clients(f"other{n}") for n in range(SESSION_TOKENS_PER_ACCOUNT)]
    for other in others:
        _password_login(other, registry, user)

    auto = _auto_tokens(regauth, user)
    assert len(auto) == SESSION_TOKENS_PER_ACCOUNT, auto
    assert not any(_issued(first_token, token) for token in auto), auto
    refused = first.run("pull", reference)
    assert not refused.ok, refused
    assert SIGNED_OUT in refused.stderr
    pulled = others[-1].run("pull", reference)
    assert pulled.ok, pulled


def test_deleting_a_session_token_signs_that_client_out_until_it_logs_in_again(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    user = regauth.cli.new_password_user("signout")
    identity_token = _password_login(docker, registry, user)
    reference = _push(docker, registry, test_image, user.name)
    session = regauth.api.sign_in(user.name, user.password)
    (auto,) = (t for t in session.tokens() if t["generated_by"] == "auto")
    assert _issued(identity_token, auto), (identity_token, auto)

    session.delete_token(auto["uuid"])

    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert SIGNED_OUT in refused.stderr
    assert _password_login(docker, registry, user) != identity_token
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled


def test_pat_login_stores_the_pat_and_mints_no_session_token(
    docker: DockerClient, registry: Registry, regauth: RegauthServer
) -> None:
    user = regauth.cli.new_password_user("patlogin")
    session = regauth.api.sign_in(user.name, user.password)
    pat = session.create_token("ci", "repo:read")["token"]

    login = docker.login(registry.host, user.name, pat)

    assert login.ok, login
    entry = _stored(docker, registry)
    assert "identitytoken" not in entry, entry
    assert _decoded_auth(entry) == f"{user.name}:{pat}"
    assert [token["generated_by"] for token in session.tokens()] == ["manual"]


# --- two-factor authentication -------------------------------------------------------------------


def test_two_factor_account_logs_docker_in_with_a_pat_but_not_the_password(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    user = regauth.cli.new_password_user("twofactor")
    session = regauth.api.sign_in(user.name, user.password)
    pat = session.create_token("ci", "repo:write")["token"]
    enrollment = session.enroll_two_factor()
    assert enrollment["otpauth_uri"].startswith("otpauth://totp/"), enrollment
    recovery_codes = session.confirm_two_factor(pyotp.TOTP(enrollment["secret"]).now())
    assert recovery_codes

    refused = docker.login(registry.host, user.name, user.password)

    assert not refused.ok, refused
    assert "unauthorized: two-factor authentication is enabled" in refused.stderr
    assert "use a personal access token instead of the password" in refused.stderr
    assert docker.stored_auths() == {}
    login = docker.login(registry.host, user.name, pat)
    assert login.ok, login
    reference = _push(docker, registry, test_image, user.name)
    assert docker.run("rmi", "--force", test_image.image_id).ok
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled
    assert f"Downloaded newer image for {reference}" in pulled.stdout


# --- throttling ----------------------------------------------------------------------------------


def test_wrong_passwords_lock_docker_login_for_that_user_only(
    docker: DockerClient, registry: Registry, regauth: RegauthServer
) -> None:
    victim = regauth.cli.new_password_user("locked")
    bystander = regauth.cli.new_password_user("bystander")

    attempts = [
        docker.login(registry.host, victim.name, f"not-{victim.password}") for _ in range(8)
    ]

    assert not any(attempt.ok for attempt in attempts), attempts
    # [limits] failures_per_user_ip = 5: the fifth failure locks the pair (1 s, then doubling).
    for attempt in attempts[:5]:
        assert "unauthorized: incorrect username or password" in attempt.stderr, attempt
    assert "toomanyrequests: too many failed sign-ins" in attempts[-1].stderr, attempts[-1]
    other = docker.login(registry.host, bystander.name, bystander.password)
    assert other.ok, other
