"""SCIM deprovisioning reaches a real docker client at once: an account the provisioner made
pushes with its PAT; `active: false` (Okta's and Entra ID's deactivation) makes the next
`docker pull` fail, `active: true` brings it back, and DELETE ends it for good."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import HttpAnswer, http_request
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage
from tests.support.secrets import remember

pytestmark = pytest.mark.e2e
PATCH_OP = "urn:ietf:params:scim:api:messages:2.0:PatchOp"


def _scim(
    regauth: RegauthServer, key: str, method: str, path: str, body: object = None
) -> HttpAnswer:
    return http_request(
        method,
        f"{regauth.url}/scim/v2{path}",
        headers={"Authorization": f"Bearer {key}"},
        json_body=body,
    )


def _active(regauth: RegauthServer, key: str, user_id: str, active: bool) -> None:
    operation = {"op": "replace", "path": "active", "value": active}
    answer = _scim(
        regauth,
        key,
        "PATCH",
        f"/Users/{user_id}",
        {"schemas": [PATCH_OP], "Operations": [operation]},
    )
    assert answer.status == 200 and answer.json()["active"] is active, answer


def test_scim_deactivation_stops_the_next_docker_pull(
    regauth: RegauthServer, registry: Registry, docker: DockerClient, test_image: BuiltImage
) -> None:
    key = remember(
        regauth.cli.check("admin-key", "create", "--scim", "--description", "e2e idp").strip()
    )
    made = _scim(regauth, key, "POST", "/Users", {"userName": "scim.leaver@corp.example"})
    assert made.status == 201, made
    user, user_id = "scim-leaver", made.json()["id"]
    pat = remember(regauth.cli.create_pat(user, "write"))

    login = docker.login(registry.host, user, pat)
    assert login.ok, login
    reference = registry.reference(f"{user}/app")
    docker.load_as(test_image.docker_archive, test_image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok and re.search(r"digest: sha256:", pushed.stdout), pushed

    _active(regauth, key, user_id, False)
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert "unauthorized" in refused.stderr.lower(), refused

    _active(regauth, key, user_id, True)
    assert docker.run("pull", reference).ok

    assert _scim(regauth, key, "DELETE", f"/Users/{user_id}").status == 204
    gone = docker.run("pull", reference)
    assert not gone.ok and "unauthorized" in gone.stderr.lower(), gone
    assert _scim(regauth, key, "GET", f"/Users/{user_id}").status == 404
