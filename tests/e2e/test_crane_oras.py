"""crane (go-containerregistry) and oras (oras-go), from Debian unstable's packages, log in with
PATs and push, pull, copy and delete through a real registry (distribution 2.8) that trusts
regauth's tokens.

crane's registry sends it to regauth as `localhost` (`localhost_registry`), since crane from
v0.21.4 refuses a realm on a loopback IP address; oras uses the suite's registry, whose realm
is on 127.0.0.1. Neither sends `account` or asks for a refresh token: each asks with Basic
auth for the scopes of the operation, then for what the registry's challenge names.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.e2e.harness.crane_oras import Crane, Oras, version_numbers
from tests.e2e.harness.regauth import Account, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

# What the registry's 401 body says; both clients show it with the access that was missing.
UNAUTHORIZED = "authentication required"
# The first crane whose realm check refuses a realm on a loopback or private IP address.
CRANE_REALM_CHECK = (0, 21, 4)


def _layout_digest(layout: Path) -> str:
    """The manifest digest an OCI image layout with one image records in its index."""
    index = json.loads((layout / "index.json").read_text())
    (manifest,) = index["manifests"]
    return str(manifest["digest"])


def _crane_push(crane: Crane, registry: Registry, image: BuiltImage, account: Account) -> str:
    """Log in and push the test image to `<user>/app:v1`; return the reference."""
    assert crane.login(registry.host, account.name, account.pat).ok
    reference = registry.reference(account.repository())
    pushed = crane.push(image.oci_layout, reference)
    assert pushed.ok, pushed
    return reference


def _oras_push_image(oras: Oras, registry: Registry, image: BuiltImage, account: Account) -> str:
    """Log in and copy the test image from its OCI layout to `<user>/app:v1`."""
    login = oras.login(registry.host, account.name, account.pat)
    assert login.ok, login
    reference = registry.reference(account.repository())
    copied = oras.copy_from_layout(image.oci_layout, image.oci_tag, reference)
    assert copied.ok, copied
    return reference


def _descriptor_digest(oras: Oras, reference: str) -> str:
    fetched = oras.descriptor(reference)
    assert fetched.ok, fetched
    return str(json.loads(fetched.stdout)["digest"])


# --- crane ---------------------------------------------------------------------------------


def test_crane_pushes_pulls_and_copies_with_write_pat(
    crane: Crane,
    localhost_registry: Registry,
    localhost_regauth: RegauthServer,
    test_image: BuiltImage,
    tmp_path: Path,
) -> None:
    account = localhost_regauth.cli.new_account("write")
    reference = _crane_push(crane, localhost_registry, test_image, account)

    pulled = crane.pull_oci(reference, tmp_path / "pulled")
    assert pulled.ok, pulled
    assert _layout_digest(tmp_path / "pulled") == test_image.oci_manifest_digest
    # Within the account's namespace: the blobs are mounted from the first repository.
    copy = localhost_registry.reference(account.repository("copy"))
    copied = crane.copy(reference, copy)
    assert copied.ok, copied
    assert "mounted blob" in copied.stderr
    digest = crane.digest(copy)
    assert digest.ok, digest
    assert digest.stdout.strip() == test_image.oci_manifest_digest


def test_crane_deletes_with_delete_pat(
    crane: Crane,
    localhost_registry: Registry,
    localhost_regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    account = localhost_regauth.cli.new_account("delete")
    reference = _crane_push(crane, localhost_registry, test_image, account)
    by_digest = f"{localhost_registry.host}/{account.repository()}@{test_image.oci_manifest_digest}"

    deleted = crane.delete(by_digest)

    assert deleted.ok, deleted
    gone = crane.digest(reference)
    assert not gone.ok, gone
    assert "MANIFEST_UNKNOWN" in gone.stderr


def test_crane_delete_with_write_pat_is_refused(
    crane: Crane,
    localhost_registry: Registry,
    localhost_regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    account = localhost_regauth.cli.new_account("write")
    reference = _crane_push(crane, localhost_registry, test_image, account)
    by_digest = f"{localhost_registry.host}/{account.repository()}@{test_image.oci_manifest_digest}"

    refused = crane.delete(by_digest)

    assert not refused.ok, refused
    assert f"UNAUTHORIZED: {UNAUTHORIZED}" in refused.stderr
    assert "Action:delete" in refused.stderr
    still_there = crane.digest(reference)
    assert still_there.ok, still_there


def test_crane_push_with_read_pat_is_refused(
    crane: Crane,
    localhost_registry: Registry,
    localhost_regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    account = localhost_regauth.cli.new_account("read")
    assert crane.login(localhost_registry.host, account.name, account.pat).ok

    result = crane.push(
        test_image.oci_layout, localhost_registry.reference(account.repository("read-only"))
    )

    assert not result.ok, result
    # The blob upload is refused: the token regauth granted carries pull only.
    assert "blobs/uploads/: UNAUTHORIZED: " + UNAUTHORIZED in result.stderr
    assert "Action:push" in result.stderr


def test_crane_anonymous_pull_of_public_repository_works_and_of_private_is_refused(
    crane: Crane,
    localhost_registry: Registry,
    localhost_regauth: RegauthServer,
    test_image: BuiltImage,
    tmp_path: Path,
) -> None:
    owner = localhost_regauth.cli.new_account("write")
    public = _crane_push(crane, localhost_registry, test_image, owner)
    private = localhost_registry.reference(owner.repository("private"))
    assert crane.copy(public, private).ok
    localhost_regauth.cli.set_visibility(owner.repository(), "public")
    anonymous = Crane(crane.client, tmp_path / "anonymous")

    pulled = anonymous.pull_oci(public, tmp_path / "pulled")
    refused = anonymous.digest(private)

    assert pulled.ok, pulled
    assert _layout_digest(tmp_path / "pulled") == test_image.oci_manifest_digest
    assert not refused.ok, refused
    assert f"UNAUTHORIZED: {UNAUTHORIZED}" in refused.stderr
    assert list(anonymous.docker_config.iterdir()) == []


def test_crane_with_a_token_realm_on_an_ip_address(
    crane: Crane, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    """Why crane's registry says `localhost`: go-containerregistry v0.21.4 added a realm check
    (against SSRF) that refuses loopback and private IP addresses; 0.20.7 has none."""
    assert regauth.realm.startswith("http://127.0.0.1:")
    account = regauth.cli.new_account("write")
    assert crane.login(registry.host, account.name, account.pat).ok

    pushed = crane.push(test_image.oci_layout, registry.reference(account.repository()))

    if version_numbers(crane.client) >= CRANE_REALM_CHECK:
        assert not pushed.ok, pushed
    else:
        assert pushed.ok, pushed


# --- oras ----------------------------------------------------------------------------------


def test_oras_login_with_pat_succeeds(
    oras: Oras, registry: Registry, regauth: RegauthServer
) -> None:
    account = regauth.cli.new_account("read")

    result = oras.login(registry.host, account.name, account.pat)

    assert result.ok, result
    assert "Login Succeeded" in result.stdout
    assert registry.host in json.loads(oras.registry_config.read_text())["auths"]


def test_oras_login_with_someone_elses_pat_is_refused(
    oras: Oras, registry: Registry, regauth: RegauthServer
) -> None:
    alice, bob = regauth.cli.new_account("read"), regauth.cli.new_account("read")

    result = oras.login(registry.host, alice.name, bob.pat)

    assert not result.ok, result
    assert "unauthorized: incorrect username or password" in result.stderr
    assert not oras.registry_config.exists()


def test_oras_pushes_and_pulls_an_artifact_with_write_pat(
    oras: Oras, registry: Registry, regauth: RegauthServer, tmp_path: Path
) -> None:
    account = regauth.cli.new_account("write")
    assert oras.login(registry.host, account.name, account.pat).ok
    reference = registry.reference(account.repository("artifact"))

    pushed = oras.push_file(reference, "hello.txt", "an artifact through regauth\n")
    assert pushed.ok, pushed
    pulled = oras.pull(reference, tmp_path / "pulled")

    assert pulled.ok, pulled
    assert (tmp_path / "pulled" / "hello.txt").read_text() == "an artifact through regauth\n"


def test_oras_copies_an_image_and_deletes_it_with_delete_pat(
    oras: Oras, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("delete")
    reference = _oras_push_image(oras, registry, test_image, account)
    assert _descriptor_digest(oras, reference) == test_image.oci_manifest_digest
    copy = registry.reference(account.repository("copy"))

    copied = oras.copy(reference, copy)
    assert copied.ok, copied
    assert _descriptor_digest(oras, copy) == test_image.oci_manifest_digest
    deleted = oras.delete(copy)

    assert deleted.ok, deleted
    gone = oras.descriptor(copy)
    assert not gone.ok, gone
    assert "not found" in gone.stderr
    assert _descriptor_digest(oras, reference) == test_image.oci_manifest_digest


def test_oras_push_with_read_pat_is_refused(
    oras: Oras, registry: Registry, regauth: RegauthServer
) -> None:
    account = regauth.cli.new_account("read")
    assert oras.login(registry.host, account.name, account.pat).ok

    result = oras.push_file(registry.reference(account.repository("read-only")), "a.txt", "a\n")

    assert not result.ok, result
    assert f"unauthorized: {UNAUTHORIZED}" in result.stderr
    assert "Action:push" in result.stderr


def test_oras_anonymous_pull_of_public_repository_works_and_of_private_is_refused(
    oras: Oras, registry: Registry, regauth: RegauthServer, tmp_path: Path
) -> None:
    owner = regauth.cli.new_account("write")
    assert oras.login(registry.host, owner.name, owner.pat).ok
    public = registry.reference(owner.repository("public"))
    private = registry.reference(owner.repository("private"))
    for reference in (public, private):
        pushed = oras.push_file(reference, "hello.txt", f"{reference}\n")
        assert pushed.ok, pushed
    regauth.cli.set_visibility(owner.repository("public"), "public")
    anonymous = Oras(oras.client, tmp_path / "anonymous")

    pulled = anonymous.pull(public, tmp_path / "pulled")
    refused = anonymous.pull(private, tmp_path / "refused")

    assert pulled.ok, pulled
    assert (tmp_path / "pulled" / "hello.txt").read_text() == f"{public}\n"
    assert not refused.ok, refused
    assert f"unauthorized: {UNAUTHORIZED}" in refused.stderr
    assert not anonymous.registry_config.exists()
