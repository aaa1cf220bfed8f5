"""Organizations seen through real clients: an organization token reaches only the repositories
it lists, a member reaches org repositories only through a team, and both take effect at once."""

from __future__ import annotations

import itertools
import json
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.harness.account_api import Session
from tests.e2e.harness.containers import Skopeo
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import CommandResult, HttpAnswer
from tests.e2e.harness.regauth import PasswordUser, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

# How docker, skopeo and podman all print the registry's refusal of a token without the access.
DENIED = "denied: requested access to the resource is denied"
PULL_AND_PUSH = ["scope-image-pull", "scope-image-push"]

# The registry is shared by the session: every organization here gets a name of its own.
_org_names = (f"acme{n}" for n in itertools.count(1))


@dataclass(frozen=True)
class Org:
    """An organization and its first owner, signed in with a password (owners manage that way)."""

    name: str
    owner: PasswordUser
    session: Session

    def repository(self, leaf: str = "app") -> str:
        return f"{self.name}/{leaf}"


def _expect(answer: HttpAnswer, status: int) -> Any:
    assert answer.status == status, answer
    return json.loads(answer.body) if answer.body else None


def _manage(session: Session, org: Org, method: str, path: str, body: Any = None) -> HttpAnswer:
    """A call to `/v2/orgs/<org><path>` by whoever `session` signed in as."""
    return session.call(method, f"/v2/orgs/{org.name}{path}", body)


@pytest.fixture(scope="module")
def admin_key(regauth: RegauthServer) -> str:
    created = regauth.cli.check("admin-key", "create", "--description", "e2e orgs", "--json")
    return str(json.loads(created)["key"])


@pytest.fixture
def org(regauth: RegauthServer, admin_key: str) -> Org:
    owner = regauth.cli.new_password_user("olivia")
    name = next(_org_names)
    created = regauth.api.call(
        "POST", "/admin/v1/orgs", body={"name": name, "owner": owner.name}, session_jwt=admin_key
    )
    _expect(created, 201)
    return Org(name, owner, regauth.api.sign_in(owner.name, owner.password))


def _org_token(session: Session, org: Org, *repositories: str) -> str:
    """A new organization access token with pull and push on `repositories`."""
    resources = [{"type": "TYPE_REPO", "path": r, "scopes": PULL_AND_PUSH} for r in repositories]
    answer = _manage(
        session, org, "POST", "/access-tokens", {"label": "ci", "resources": resources}
    )
    token = str(_expect(answer, 201)["token"])
    assert token.startswith("rgo_"), token
    return token


def _push(skopeo: Skopeo, registry: Registry, image: BuiltImage, repository: str) -> CommandResult:
    return skopeo.copy(image.oci_reference, f"docker://{registry.reference(repository)}")


def _pull(skopeo: Skopeo, registry: Registry, repository: str) -> CommandResult:
    """What a pull needs from the registry and the token: the manifest, by inspect."""
    return skopeo.inspect(f"docker://{registry.reference(repository)}")


def _digest(result: CommandResult) -> str:
    return str(json.loads(result.stdout)["Digest"])


# --- organization access tokens -----------------------------------------------------------------


def test_org_token_pushes_to_listed_repository_only(
    skopeo: Skopeo, registry: Registry, test_image: BuiltImage, org: Org
) -> None:
    token = _org_token(org.session, org, org.repository("app"))
    login = skopeo.login(registry.host, org.name, token)
    assert login.ok, login

    pushed = _push(skopeo, registry, test_image, org.repository("app"))
    assert pushed.ok, pushed
    unlisted = _push(skopeo, registry, test_image, org.repository("other"))
    assert not unlisted.ok, unlisted
    assert DENIED in unlisted.stderr
    pulled = _pull(skopeo, registry, org.repository("app"))

    assert pulled.ok, pulled
    assert _digest(pulled) == test_image.oci_manifest_digest


def test_docker_signs_in_with_org_token_only_as_the_org(
    docker: DockerClient,
    skopeo: Skopeo,
    registry: Registry,
    regauth: RegauthServer,
    test_image: BuiltImage,
    org: Org,
) -> None:
    token = _org_token(org.session, org, org.repository("app"))
    assert skopeo.login(registry.host, org.name, token).ok
    assert _push(skopeo, registry, test_image, org.repository("app")).ok
    someone_else = regauth.cli.add_user("someone")

    refused = docker.login(registry.host, someone_else, token)
    assert not refused.ok, refused
    assert "unauthorized: incorrect username or password" in refused.stderr
    assert docker.stored_auths() == {}
    login = docker.login(registry.host, org.name, token)
    assert login.ok, login
    assert "Login Succeeded" in login.stdout
    pulled = docker.run("pull", registry.reference(org.repository("app")))

    assert pulled.ok, pulled
    assert f"Downloaded newer image for {registry.reference(org.repository('app'))}" in (
        pulled.stdout
    )


def test_org_token_outlives_the_owner_who_created_it(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage, org: Org
) -> None:
    second = regauth.cli.new_password_user("oscar")
    _expect(_manage(org.session, org, "PUT", f"/members/{second.name}", {"role": "owner"}), 200)
    token = _org_token(org.session, org, org.repository("app"))
    second_session = regauth.api.sign_in(second.name, second.password)

    removed = _manage(second_session, org, "DELETE", f"/members/{org.owner.name}")
    _expect(removed, 204)
    # The creator is out: the organization is hidden from them now.
    _expect(_manage(org.session, org, "GET", "/members"), 404)
    assert skopeo.login(registry.host, org.name, token).ok
    pushed = _push(skopeo, registry, test_image, org.repository("app"))
    assert pushed.ok, pushed
    pulled = _pull(skopeo, registry, org.repository("app"))

    assert pulled.ok, pulled
    assert _digest(pulled) == test_image.oci_manifest_digest


# --- members' personal access tokens ------------------------------------------------------------


def test_member_pat_loses_org_access_when_removed_from_the_team(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage, org: Org
) -> None:
    dave = regauth.cli.new_account("write", prefix="dave")
    _expect(_manage(org.session, org, "PUT", f"/members/{dave.name}", {"role": "member"}), 200)
    _expect(_manage(org.session, org, "POST", "/groups", {"name": "devs"}), 201)
    _expect(_manage(org.session, org, "POST", "/groups/devs/members", {"member": dave.name}), 200)
    grant = {"pattern": "app", "permission": "write"}
    _expect(_manage(org.session, org, "PUT", "/groups/devs/permissions", grant), 200)
    assert skopeo.login(registry.host, dave.name, dave.pat).ok
    app = org.repository("app")
    assert _push(skopeo, registry, test_image, app).ok
    assert _pull(skopeo, registry, app).ok

    _expect(_manage(org.session, org, "DELETE", f"/groups/devs/members/{dave.name}"), 204)
    # The very next requests, with the same PAT: nothing about the team may linger.
    push_refused = _push(skopeo, registry, test_image, app)
    assert not push_refused.ok, push_refused
    assert DENIED in push_refused.stderr
    pull_refused = _pull(skopeo, registry, app)
    assert not pull_refused.ok, pull_refused
    assert DENIED in pull_refused.stderr

    _expect(_manage(org.session, org, "POST", "/groups/devs/members", {"member": dave.name}), 200)
    pushed = _push(skopeo, registry, test_image, app)
    assert pushed.ok, pushed
    pulled = _pull(skopeo, registry, app)
    assert pulled.ok, pulled
    assert _digest(pulled) == test_image.oci_manifest_digest
