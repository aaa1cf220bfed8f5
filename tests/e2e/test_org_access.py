"""Organizations with real clients: an organization token's repository list, and team membership
taking effect on the very next request."""

from __future__ import annotations

import itertools
import json
from typing import Any

import pytest

from tests.e2e.harness.containers import Skopeo
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import http_request
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

DENIED = "requested access to the resource is denied"
_orgs = itertools.count(1)


class Org:
    """An organization made through the admin and owner APIs of the running regauth."""

    def __init__(self, regauth: RegauthServer) -> None:
        self.regauth = regauth
        self.name = f"org{next(_orgs)}"
        key = json.loads(regauth.cli.check("admin-key", "create", "--description", "e2e", "--json"))
        self.owner = regauth.cli.new_password_user("owner")
        created = http_request(
            "POST",
            f"{regauth.url}/admin/v1/orgs",
            headers={"Authorization": f"Bearer {key['key']}"},
            json_body={"name": self.name, "owner": self.owner.name},
        )
        assert created.status == 201, created.body
        self.session = regauth.api.sign_in(self.owner.name, self.owner.password)

    def owner_call(self, method: str, path: str, body: Any = None, status: int = 200) -> Any:
        answer = self.session.call(method, f"/v2/orgs/{self.name}{path}", body)
        assert answer.status == status, (method, path, answer.status, answer.body)
        return answer.json() if answer.body else None

    def token(self, *resources: tuple[str, list[str]]) -> str:
        body = {
            "label": "ci",
            "resources": [
                {"type": "TYPE_REPO", "path": f"{self.name}/{leaf}", "scopes": scopes}
                for leaf, scopes in resources
            ],
        }
        return str(self.owner_call("POST", "/access-tokens", body, 201)["token"])


def _push(
    skopeo: Skopeo, registry: Registry, image: BuiltImage, user: str, secret: str, repo: str
) -> Any:
    assert skopeo.login(registry.host, user, secret).ok
    return skopeo.copy(image.oci_reference, f"docker://{registry.reference(repo)}")


def test_an_org_token_pushes_to_listed_repositories_only(
    regauth: RegauthServer,
    registry: Registry,
    skopeo: Skopeo,
    docker: DockerClient,
    test_image: BuiltImage,
) -> None:
    org = Org(regauth)
    secret = org.token(
        ("app", ["scope-image-pull", "scope-image-push"]), ("docs", ["scope-image-pull"])
    )

    pushed = _push(skopeo, registry, test_image, org.name, secret, f"{org.name}/app")
    assert pushed.ok, pushed
    refused = skopeo.copy(
        test_image.oci_reference, f"docker://{registry.reference(f'{org.name}/other')}"
    )
    assert not refused.ok
    assert DENIED in refused.stderr
    read_only = skopeo.copy(
        test_image.oci_reference, f"docker://{registry.reference(f'{org.name}/docs')}"
    )
    assert not read_only.ok and DENIED in read_only.stderr
    inspected = skopeo.inspect(f"docker://{registry.reference(f'{org.name}/app')}")
    assert inspected.ok, inspected

    # docker login with the organization's name, as Docker Hub's organization tokens are used
    assert docker.login(registry.host, org.name, secret).ok
    wrong_name = docker.login(registry.host, org.owner.name, secret)
    assert not wrong_name.ok
    assert "incorrect username or password" in wrong_name.stderr


def test_a_member_loses_access_the_moment_they_leave_the_team(
    regauth: RegauthServer, registry: Registry, skopeo: Skopeo, test_image: BuiltImage
) -> None:
    org = Org(regauth)
    member = regauth.cli.new_account("write", prefix="dev")
    org.owner_call("PUT", f"/members/{member.name}", {"role": "member"})
    org.owner_call("POST", "/groups", {"name": "devs"}, 201)
    org.owner_call("POST", "/groups/devs/members", {"member": member.name})
    org.owner_call("PUT", "/groups/devs/permissions", {"pattern": "app", "permission": "write"})
    repository = f"{org.name}/app"
    reference = f"docker://{registry.reference(repository)}"

    assert _push(skopeo, registry, test_image, member.name, member.pat, repository).ok
    assert skopeo.inspect(reference).ok

    org.owner_call("DELETE", f"/groups/devs/members/{member.name}", status=204)
    pull = skopeo.inspect(reference)
    assert not pull.ok  # the very next request: nothing cached the membership
    push = skopeo.copy(test_image.oci_reference, reference)
    assert not push.ok and DENIED in push.stderr

    org.owner_call("POST", "/groups/devs/members", {"member": member.name})
    assert skopeo.inspect(reference).ok


def test_an_org_token_outlives_the_owner_who_made_it(
    regauth: RegauthServer, registry: Registry, skopeo: Skopeo, test_image: BuiltImage
) -> None:
    org = Org(regauth)
    second = regauth.cli.new_password_user("owner")
    org.owner_call("PUT", f"/members/{second.name}", {"role": "owner"})
    secret = org.token(("app", ["scope-image-pull", "scope-image-push"]))
    successor = regauth.api.sign_in(second.name, second.password)
    answer = successor.call("DELETE", f"/v2/orgs/{org.name}/members/{org.owner.name}")
    assert answer.status == 204, answer.body

    pushed = _push(skopeo, registry, test_image, org.name, secret, f"{org.name}/app")
    assert pushed.ok, pushed
