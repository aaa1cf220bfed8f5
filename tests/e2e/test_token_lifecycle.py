"""Personal access tokens managed through the self-service API (Docker Hub's /v2 shapes) take
effect on a real docker client at once: deactivate, reactivate, delete, and the last use."""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

import pytest

from tests.e2e.harness.account_api import Session
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import PasswordUser, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

# regauth writes last-used data in batches (storage.usage_flush_seconds, 1 s by default).
LAST_USED_WAIT_SECONDS = 5.0


@pytest.fixture
def owner(regauth: RegauthServer) -> PasswordUser:
    return regauth.cli.new_password_user("lifecycle")


@pytest.fixture
def session(regauth: RegauthServer, owner: PasswordUser) -> Session:
    return regauth.api.sign_in(owner.name, owner.password)


def _login_and_push(
    docker: DockerClient, registry: Registry, image: BuiltImage, user: str, pat: str
) -> tuple[str, str]:
    """docker login with the PAT and push the test image to `<user>/app:v1`: (reference, digest)."""
    login = docker.login(registry.host, user, pat)
    assert login.ok, login
    assert "Login Succeeded" in login.stdout
    reference = registry.reference(f"{user}/app")
    docker.load_as(image.docker_archive, image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    digest = re.search(r"v1: digest: (sha256:[0-9a-f]{64})", pushed.stdout)
    assert digest, pushed
    return reference, digest.group(1)


def _poll(read: Callable[[], dict[str, Any]], done: Callable[[dict[str, Any]], bool]) -> Any:
    """`read()` until `done`, for at most LAST_USED_WAIT_SECONDS; the last value either way."""
    deadline = time.monotonic() + LAST_USED_WAIT_SECONDS
    value = read()
    while not done(value) and time.monotonic() < deadline:
        time.sleep(0.2)
        value = read()
    return value


def test_deactivated_token_stops_docker_pull_until_reactivated(
    docker: DockerClient,
    registry: Registry,
    test_image: BuiltImage,
    owner: PasswordUser,
    session: Session,
) -> None:
    created = session.create_token("laptop", "repo:write")
    assert created["token"].startswith("rgp_"), created
    reference, digest = _login_and_push(docker, registry, test_image, owner.name, created["token"])

    deactivated = session.set_active(created["uuid"], False)
    assert (deactivated["is_active"], deactivated["state"]) == (False, "inactive"), deactivated
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert "unauthorized: personal access token is inactive" in refused.stderr

    reactivated = session.set_active(created["uuid"], True)
    assert (reactivated["is_active"], reactivated["state"]) == (True, "active"), reactivated
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled
    assert f"Digest: {digest}" in pulled.stdout


def test_deleted_token_stops_docker_pull(
    docker: DockerClient,
    registry: Registry,
    test_image: BuiltImage,
    owner: PasswordUser,
    session: Session,
) -> None:
    created = session.create_token("ci", "repo:write")
    reference, _ = _login_and_push(docker, registry, test_image, owner.name, created["token"])

    session.delete_token(created["uuid"])

    assert created["uuid"] not in [token["uuid"] for token in session.tokens()]
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    # A deleted token is an unknown one: docker hears what a wrong password gets.
    assert "unauthorized: incorrect username or password" in refused.stderr


def test_docker_use_of_a_token_shows_as_its_last_use(
    docker: DockerClient, registry: Registry, owner: PasswordUser, session: Session
) -> None:
    created = session.create_token("build box", "repo:read")
    assert (created["last_used"], created["last_used_ip"], created["last_used_client"]) == (
        None,
        None,
        None,
    ), created
    before = datetime.now(UTC).replace(microsecond=0)

    login = docker.login(registry.host, owner.name, created["token"])
    assert login.ok, login
    used = _poll(lambda: session.token(created["uuid"]), lambda t: t["last_used"] is not None)

    assert used["last_used"] is not None, f"no last use after {LAST_USED_WAIT_SECONDS}s: {used}"
    assert before <= datetime.fromisoformat(used["last_used"]) <= datetime.now(UTC), used
    assert used["last_used_ip"] == "127.0.0.1", used
    # dockerd's own User-Agent, naming the CLI that asked it (not the API client that created it).
    assert used["last_used_client"].startswith("docker/"), used
    assert "UpstreamClient(Docker-Client/" in used["last_used_client"], used
