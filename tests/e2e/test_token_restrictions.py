"""Fine-grained and network-bound tokens seen through a real docker: a token made with
`--repositories` pushes to what it lists and is refused elsewhere; a token made with
`--allow-from` a network without loopback is refused at `docker login` with the reason, and
one whose networks hold loopback signs in and pushes."""

from __future__ import annotations

import json
import time

import pytest

from regauth.domain.tokens import parse_token
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage
from tests.support.secrets import remember

pytestmark = pytest.mark.e2e

# How docker prints the registry's refusal of a token without the access.
DENIED = "denied: requested access to the resource is denied"


def _pat(regauth: RegauthServer, user: str, *options: str) -> str:
    argv = ["token", "create", "--user", user, "--description", "e2e", "--access", "write"]
    created = json.loads(regauth.cli.check(*argv, *options, "--json"))
    return remember(str(created["token"]))


def _push(docker: DockerClient, registry: Registry, image: BuiltImage, repository: str) -> str:
    """Tags the test image as `repository` and pushes it: docker's answer."""
    reference = registry.reference(repository)
    docker.load_as(image.docker_archive, image.image_id, reference)
    pushed = docker.run("push", reference)
    return "ok" if pushed.ok else pushed.stderr


def test_a_fine_grained_pat_pushes_to_its_listed_repository_and_is_refused_on_another(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    user = regauth.cli.add_user("fine")
    pat = _pat(regauth, user, "--repositories", f"{user}/app,{user}/ci/*")
    login = docker.login(registry.host, user, pat)
    assert login.ok, login

    assert _push(docker, registry, test_image, f"{user}/app") == "ok"
    assert _push(docker, registry, test_image, f"{user}/ci/build") == "ok"
    # The user's own namespace, but not on the list: the token gets nothing for it.
    refused = _push(docker, registry, test_image, f"{user}/other")
    assert DENIED in refused, refused
    unlisted = docker.run("pull", registry.reference(f"{user}/other"))
    assert not unlisted.ok, unlisted

    # explain says why, naming the repository.
    token_id = parse_token(pat).public_id
    out = regauth.cli.check("explain", "--token", token_id, f"repository:{user}/other:push")
    assert f"token does not list '{user}/other'" in out


def test_a_token_bound_to_a_network_without_loopback_is_refused_at_docker_login(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    user = regauth.cli.add_user("bound")
    # dockerd reaches regauth from 127.0.0.1: outside these networks.
    pat = _pat(regauth, user, "--allow-from", "10.0.0.0/8,2001:db8::/32")
    refused = docker.login(registry.host, user, pat)
    assert not refused.ok, refused
    assert "token not allowed from 127.0.0.1" in refused.stderr
    assert docker.stored_auths() == {}

    # The same user's token bound to loopback signs in and pushes.
    loopback = _pat(regauth, user, "--allow-from", "127.0.0.0/8,::1")
    login = docker.login(registry.host, user, loopback)
    assert login.ok, login
    assert _push(docker, registry, test_image, f"{user}/app") == "ok"

    # The refusal is in the audit trail, from where it came (failed sign-ins are written in
    # the usage batches: the CLI reads what the server wrote).
    events = _failed_sign_ins(regauth, user)
    assert {"ip": "127.0.0.1", "reason": "token not allowed from 127.0.0.1"} in events, events


def _failed_sign_ins(regauth: RegauthServer, user: str) -> list[dict[str, str]]:
    deadline = time.monotonic() + 5
    while True:
        listed = json.loads(regauth.cli.check("audit", "list", "--action", "auth.failed", "--json"))
        events = [
            {"ip": e["ip"], "reason": e["details"]["reason"]} for e in listed if e["actor"] == user
        ]
        if events or time.monotonic() > deadline:
            return events
        time.sleep(0.2)
