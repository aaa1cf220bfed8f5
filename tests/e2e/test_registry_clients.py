"""Real clients (docker via dockerd, skopeo, podman) log in with PATs and push/pull through a
real registry (distribution 2.8) that trusts regauth's tokens."""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest

from tests.e2e.harness.containers import Podman, Skopeo
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import Account, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

DENIED = "requested access to the resource is denied"


def _jwt_part(token: str, index: int) -> dict[str, Any]:
    segment = token.split(".")[index]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def _skopeo_push(skopeo: Skopeo, registry: Registry, image: BuiltImage, account: Account) -> str:
    """Push the test image to `<user>/app:v1` with the account's PAT; return the docker:// ref."""
    login = skopeo.login(registry.host, account.name, account.pat)
    assert login.ok, login
    reference = f"docker://{registry.reference(account.repository())}"
    pushed = skopeo.copy(image.oci_reference, reference)
    assert pushed.ok, pushed
    return reference


def _docker_load(docker: DockerClient, image: BuiltImage, reference: str) -> None:
    for args in (
        ("load", "--input", str(image.docker_archive)),
        ("tag", image.image_id, reference),
    ):
        result = docker.run(*args)
        assert result.ok, result


def _podman_load(podman: Podman, image: BuiltImage, reference: str) -> None:
    for args in (
        ("load", "--input", str(image.docker_archive)),
        ("tag", image.image_id, reference),
    ):
        result = podman.run(*args)
        assert result.ok, result


# --- logging in -------------------------------------------------------------------------------


def test_docker_login_with_pat_succeeds(
    docker: DockerClient, registry: Registry, regauth: RegauthServer
) -> None:
    account = regauth.cli.new_account("read")

    result = docker.login(registry.host, account.name, account.pat)

    assert result.ok, result
    assert "Login Succeeded" in result.stdout
    assert registry.host in docker.stored_auths()


def test_skopeo_login_with_pat_succeeds(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer
) -> None:
    account = regauth.cli.new_account("read")

    result = skopeo.login(registry.host, account.name, account.pat)

    assert result.ok, result
    assert "Login Succeeded" in result.stdout
    assert registry.host in json.loads(skopeo.authfile.read_text())["auths"]


def test_docker_login_with_someone_elses_pat_is_refused(
    docker: DockerClient, registry: Registry, regauth: RegauthServer
) -> None:
    alice, bob = regauth.cli.new_account("read"), regauth.cli.new_account("read")

    result = docker.login(registry.host, alice.name, bob.pat)

    assert not result.ok, result
    assert "unauthorized: incorrect username or password" in result.stderr
    assert docker.stored_auths() == {}


def test_skopeo_login_with_someone_elses_pat_is_refused(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer
) -> None:
    alice, bob = regauth.cli.new_account("read"), regauth.cli.new_account("read")

    result = skopeo.login(registry.host, alice.name, bob.pat)

    assert not result.ok, result
    assert "invalid username/password" in result.stderr


def test_docker_login_with_malformed_pat_is_refused(
    docker: DockerClient, registry: Registry, regauth: RegauthServer
) -> None:
    account = regauth.cli.new_account("read")
    # One secret character changed: the checksum no longer matches.
    position = len("rgp_") + 12
    changed = "a" if account.pat[position] != "a" else "b"
    malformed = account.pat[:position] + changed + account.pat[position + 1 :]

    result = docker.login(registry.host, account.name, malformed)

    assert not result.ok, result
    assert "unauthorized: malformed personal access token" in result.stderr


# --- push, pull, inspect, delete ----------------------------------------------------------------


def test_skopeo_pushes_inspects_and_deletes_with_delete_pat(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("delete")
    reference = _skopeo_push(skopeo, registry, test_image, account)

    inspected = skopeo.inspect(reference)
    assert inspected.ok, inspected
    assert json.loads(inspected.stdout)["Digest"] == test_image.oci_manifest_digest
    tags = skopeo.list_tags(reference.removesuffix(":v1"))
    assert tags.ok, tags
    assert json.loads(tags.stdout)["Tags"] == ["v1"]

    deleted = skopeo.delete(reference)
    assert deleted.ok, deleted
    gone = skopeo.inspect(reference)
    assert not gone.ok, gone
    assert "manifest unknown" in gone.stderr


def test_read_pat_pulls_what_the_owner_pushed(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    owner = regauth.cli.new_account("write")
    reference = _skopeo_push(skopeo, registry, test_image, owner)
    reader = Account(owner.name, regauth.cli.create_pat(owner.name, "read"), "read")

    assert skopeo.login(registry.host, reader.name, reader.pat).ok
    inspected = skopeo.inspect(reference)

    assert inspected.ok, inspected
    assert json.loads(inspected.stdout)["Digest"] == test_image.oci_manifest_digest


def test_docker_pushes_and_pulls_with_delete_pat(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("delete")
    reference = registry.reference(account.repository())
    login = docker.login(registry.host, account.name, account.pat)
    assert login.ok, login
    _docker_load(docker, test_image, reference)

    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    assert "v1: digest: sha256:" in pushed.stdout
    removed = docker.run("rmi", "--force", test_image.image_id)
    assert removed.ok, removed
    pulled = docker.run("pull", reference)

    assert pulled.ok, pulled
    assert f"Downloaded newer image for {reference}" in pulled.stdout
    image_id = docker.run("image", "inspect", "--format", "{{.Id}}", reference)
    assert image_id.stdout.strip() == test_image.image_id


def test_podman_pushes_and_pulls_with_delete_pat(
    podman: Podman, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("delete")
    reference = registry.reference(account.repository())
    login = podman.login(registry.host, account.name, account.pat)
    assert login.ok, login
    _podman_load(podman, test_image, reference)

    pushed = podman.push(reference)
    assert pushed.ok, pushed
    removed = podman.run("rmi", "--force", test_image.image_id)
    assert removed.ok, removed
    pulled = podman.pull(reference)

    assert pulled.ok, pulled
    assert pulled.stdout.strip() == test_image.image_id.removeprefix("sha256:")


# --- refusals -----------------------------------------------------------------------------------


def test_docker_push_with_read_pat_is_denied(
    docker: DockerClient, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("read")
    reference = registry.reference(account.repository("read-only"))
    assert docker.login(registry.host, account.name, account.pat).ok
    _docker_load(docker, test_image, reference)

    result = docker.run("push", reference)

    assert not result.ok, result
    assert f"denied: {DENIED}" in result.stderr


def test_skopeo_push_with_read_pat_is_denied(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("read")
    assert skopeo.login(registry.host, account.name, account.pat).ok

    result = skopeo.copy(
        test_image.oci_reference, f"docker://{registry.reference(account.repository('read-only'))}"
    )

    assert not result.ok, result
    assert DENIED in result.stderr


def test_podman_push_with_read_pat_is_denied(
    podman: Podman, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("read")
    reference = registry.reference(account.repository("read-only"))
    assert podman.login(registry.host, account.name, account.pat).ok
    _podman_load(podman, test_image, reference)

    result = podman.push(reference)

    assert not result.ok, result
    assert DENIED in result.stderr


def test_push_into_another_users_namespace_is_denied(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    alice, mallory = regauth.cli.new_account("delete"), regauth.cli.new_account("delete")
    assert skopeo.login(registry.host, mallory.name, mallory.pat).ok

    result = skopeo.copy(
        test_image.oci_reference, f"docker://{registry.reference(alice.repository())}"
    )

    assert not result.ok, result
    assert DENIED in result.stderr


# --- anonymous pulls ----------------------------------------------------------------------------


def test_anonymous_pull_of_public_repository_works(
    skopeo: Skopeo,
    docker: DockerClient,
    registry: Registry,
    regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    owner = regauth.cli.new_account("write")
    reference = _skopeo_push(skopeo, registry, test_image, owner)
    regauth.cli.set_visibility(owner.repository(), "public")

    inspected = skopeo.inspect(reference, anonymous=True)
    assert inspected.ok, inspected
    assert json.loads(inspected.stdout)["Digest"] == test_image.oci_manifest_digest
    pulled = docker.run("pull", registry.reference(owner.repository()))
    assert pulled.ok, pulled
    assert docker.stored_auths() == {}


def test_anonymous_pull_of_private_repository_is_refused(
    skopeo: Skopeo,
    docker: DockerClient,
    registry: Registry,
    regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    owner = regauth.cli.new_account("write")
    reference = _skopeo_push(skopeo, registry, test_image, owner)

    inspected = skopeo.inspect(reference, anonymous=True)
    assert not inspected.ok, inspected
    assert DENIED in inspected.stderr
    pulled = docker.run("pull", registry.reference(owner.repository()))
    assert not pulled.ok, pulled
    assert "pull access denied" in pulled.stderr
    assert "may require 'docker login'" in pulled.stderr


# --- token formats the registry must accept -----------------------------------------------------


def test_default_flavour_tokens_carry_the_certificate_chain(
    regauth: RegauthServer, registry: Registry
) -> None:
    account = regauth.cli.new_account("read")

    header = _jwt_part(regauth.fetch_token(account=account), 0)

    assert header["alg"] == "ES256"
    assert header["x5c"], header


def test_kid_only_registry_accepts_pushes_and_pulls(
    skopeo: Skopeo,
    kid_only_registry: Registry,
    kid_only_regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    account = kid_only_regauth.cli.new_account("delete")
    header = _jwt_part(kid_only_regauth.fetch_token(account=account), 0)
    assert "x5c" not in header, header
    assert header["alg"] == "RS256"
    assert header["kid"]

    reference = _skopeo_push(skopeo, kid_only_registry, test_image, account)
    inspected = skopeo.inspect(reference)

    assert inspected.ok, inspected
    assert json.loads(inspected.stdout)["Digest"] == test_image.oci_manifest_digest


# --- catalog ------------------------------------------------------------------------------------


def test_catalog_lists_repositories_for_an_admin_pat(
    skopeo: Skopeo, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    owner = regauth.cli.new_account("write")
    _skopeo_push(skopeo, registry, test_image, owner)
    admin = regauth.cli.new_account("read", prefix="admin", admin=True)

    token = regauth.fetch_token("registry:catalog:*", account=admin)
    answer = registry.get("/v2/_catalog?n=1000", bearer=token)

    assert answer.status == 200, answer
    assert owner.repository() in answer.json()["repositories"]


def test_catalog_is_refused_for_a_normal_user(regauth: RegauthServer, registry: Registry) -> None:
    account = regauth.cli.new_account("delete")

    token = regauth.fetch_token("registry:catalog:*", account=account)
    answer = registry.get("/v2/_catalog", bearer=token)

    assert _jwt_part(token, 1)["access"] == []
    assert answer.status == 401, answer
    assert 'error="insufficient_scope"' in answer.headers["www-authenticate"]
