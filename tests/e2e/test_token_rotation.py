"""A regenerated personal access token through a real docker client and a real registry: the
old secret, still in docker's credential store, fails at `docker pull`; the new one works; and
with a grace period the old one works until the period ends."""

from __future__ import annotations

import json
import re

import pytest

from tests.e2e.harness.account_api import Session
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import HarnessError
from tests.e2e.harness.regauth import PasswordUser, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage
from tests.support.secrets import remember

pytestmark = pytest.mark.e2e


@pytest.fixture
def owner(regauth: RegauthServer) -> PasswordUser:
    return regauth.cli.new_password_user("rotation")


@pytest.fixture
def session(regauth: RegauthServer, owner: PasswordUser) -> Session:
    return regauth.api.sign_in(owner.name, owner.password)


def regenerate(session: Session, uuid: str, **body: str) -> dict[str, object]:
    """`POST /v2/access-tokens/{uuid}/regenerate`: the token with its new secret."""
    answer = session.call("POST", f"/v2/access-tokens/{uuid}/regenerate", body)
    if answer.status != 200:
        raise HarnessError(f"regenerate answered {answer.status}: {answer.body}")
    made: dict[str, object] = json.loads(answer.body)
    remember(str(made["token"]))
    return made


def push(docker: DockerClient, registry: Registry, image: BuiltImage, user: str, pat: str) -> str:
    login = docker.login(registry.host, user, pat)
    assert login.ok, login
    reference = registry.reference(f"{user}/app")
    docker.load_as(image.docker_archive, image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    assert re.search(r"v1: digest: sha256:[0-9a-f]{64}", pushed.stdout), pushed
    docker.run("rmi", reference)
    return reference


def test_the_old_secret_fails_at_docker_pull_and_the_new_one_works(
    docker: DockerClient,
    registry: Registry,
    test_image: BuiltImage,
    owner: PasswordUser,
    session: Session,
) -> None:
    created = session.create_token("ci", "repo:write")
    old = remember(str(created["token"]))
    reference = push(docker, registry, test_image, owner.name, old)

    made = regenerate(session, str(created["uuid"]))

    assert (made["uuid"], made["id"], made["token_label"]) == (created["uuid"], created["id"], "ci")
    # docker still holds the old secret (config.json): the registry sends it to regauth again.
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert "unauthorized: incorrect username or password" in refused.stderr
    login = docker.login(registry.host, owner.name, str(made["token"]))
    assert login.ok, login
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled


def test_within_a_grace_period_the_old_secret_still_pulls(
    docker: DockerClient,
    registry: Registry,
    test_image: BuiltImage,
    owner: PasswordUser,
    session: Session,
) -> None:
    created = session.create_token("deploy", "repo:write")
    old = remember(str(created["token"]))
    reference = push(docker, registry, test_image, owner.name, old)

    made = regenerate(session, str(created["uuid"]), grace_period="1h")

    assert made["previous_token_valid_until"] is not None
    pulled = docker.run("pull", reference)  # with the old secret, still accepted
    assert pulled.ok, pulled
    # Regenerating again ends the first grace period at once.
    regenerate(session, str(created["uuid"]))
    docker.run("rmi", reference)
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert "unauthorized: incorrect username or password" in refused.stderr
