"""containerd's own registry client (`ctr`), the resolver that containerd, BuildKit, nerdctl and
Docker's containerd image store share: it asks for tokens with the OAuth2 form (POST /token)
where docker, skopeo and podman use GET."""

from __future__ import annotations

import re

import pytest

from tests.e2e.harness.containerd import Ctr
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import Account, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

# How containerd reports a 401 from the token endpoint (it does not retry with GET then).
TOKEN_REFUSED = "failed to fetch oauth token: unexpected status: 401 Unauthorized"


def _user(account: Account) -> tuple[str, str]:
    return ("--user", f"{account.name}:{account.pat}")


def _token_requests(regauth: RegauthServer, mark: int) -> set[tuple[str, int]]:
    return {
        (method, status)
        for method, path, status in regauth.requests_since(mark)
        if path == "/token"
    }


def _containerd_version(ctr: Ctr) -> tuple[int, ...]:
    """containerd's release as numbers, from `ctr version` ("Version:  1.6.20~ds1")."""
    server = ctr.check("version").split("Server:", 1)[1]
    found = re.search(r"Version:\s+v?(\d+)\.(\d+)", server)
    assert found, server
    return (int(found[1]), int(found[2]))


def _push(ctr: Ctr, registry: Registry, image: BuiltImage, account: Account) -> str:
    reference = registry.reference(account.repository())
    ctr.import_archive(image.docker_archive, reference)
    pushed = ctr.push(reference, *_user(account))
    assert pushed.ok, pushed
    return reference


def test_ctr_pushes_and_pulls_with_a_pat_through_the_oauth2_form(
    ctr: Ctr, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("delete")
    mark = regauth.log_size()
    reference = _push(ctr, registry, test_image, account)
    pushed_digest = ctr.digest(reference)
    ctr.remove(reference)
    assert ctr.digest(reference) is None

    pulled = ctr.pull(reference, *_user(account))

    assert pulled.ok, pulled
    assert pushed_digest is not None
    assert ctr.digest(reference) == pushed_digest
    # With a username and secret containerd posts grant_type=password; it falls back to GET
    # only if the POST is refused with 404/405, which would show here.
    assert _token_requests(regauth, mark) == {("POST", 200)}


def test_ctr_push_with_a_read_pat_is_denied(
    ctr: Ctr, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    account = regauth.cli.new_account("read")
    reference = registry.reference(account.repository("read-only"))
    ctr.import_archive(test_image.docker_archive, reference)
    mark = regauth.log_size()

    result = ctr.push(reference, *_user(account))

    assert not result.ok, result
    # The registry's refusal of the push-less token, as containerd shows it.
    assert "insufficient_scope" in result.stderr, result
    token_requests = _token_requests(regauth, mark)
    assert token_requests == {("POST", 200)}, token_requests


def test_ctr_with_someone_elses_pat_is_refused(
    ctr: Ctr, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    owner, other = regauth.cli.new_account("delete"), regauth.cli.new_account("delete")
    reference = _push(ctr, registry, test_image, owner)
    ctr.remove(reference)

    result = ctr.pull(reference, "--user", f"{owner.name}:{other.pat}")

    assert not result.ok, result
    assert TOKEN_REFUSED in result.stderr
    assert ctr.digest(reference) is None
    assert other.pat not in repr(result), "the PAT would show in a failure report"


def test_ctr_pulls_a_public_repository_anonymously_with_get(
    ctr: Ctr, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    owner = regauth.cli.new_account("write")
    reference = _push(ctr, registry, test_image, owner)
    ctr.remove(reference)
    refused = ctr.pull(reference)
    assert not refused.ok, refused
    assert "pull access denied" in refused.stderr, refused
    regauth.cli.set_visibility(owner.repository(), "public")
    mark = regauth.log_size()

    pulled = ctr.pull(reference)

    assert pulled.ok, pulled
    assert ctr.digest(reference) is not None
    assert _token_requests(regauth, mark) == {("GET", 200)}


def test_ctr_uses_the_session_token_docker_login_stored_as_a_refresh_token(
    ctr: Ctr,
    docker: DockerClient,
    registry: Registry,
    regauth: RegauthServer,
    test_image: BuiltImage,
) -> None:
    # BuildKit does this: it reads docker's config.json and, finding an identity token there,
    # uses it as an OAuth2 refresh token.
    user = regauth.cli.new_password_user("buildkit")
    login = docker.login(registry.host, user.name, user.password)
    assert login.ok, login
    entry = docker.stored_auths()[registry.host]
    assert isinstance(entry, dict), entry
    identity_token = str(entry["identitytoken"])
    reference = registry.reference(f"{user.name}/app")
    ctr.import_archive(test_image.docker_archive, reference)
    mark = regauth.log_size()

    pushed = ctr.push(reference, "--refresh", identity_token)
    ctr.remove(reference)
    pulled = ctr.pull(reference, "--refresh", identity_token)

    assert pushed.ok, pushed
    assert pulled.ok, pulled
    assert _token_requests(regauth, mark) == {("POST", 200)}
    # Signing that session out (deleting its token) refuses the refresh at once.
    session = regauth.api.sign_in(user.name, user.password)
    (auto,) = (t for t in session.tokens() if t["generated_by"] == "auto")
    session.delete_token(auto["uuid"])
    ctr.remove(reference)
    refused = ctr.pull(reference, "--refresh", identity_token)
    assert not refused.ok, refused
    assert TOKEN_REFUSED in refused.stderr


def test_ctr_mount_from_a_repository_the_pusher_cannot_pull_is_refused_by_the_registry(
    ctr: Ctr, registry: Registry, regauth: RegauthServer, test_image: BuiltImage
) -> None:
    # Known client limitation (README, "Clients"): containerd labels pulled layers with the
    # repository they came from, and a later push of the same layers elsewhere first tries to
    # mount them from there. For a repository the pusher may not pull, regauth grants only the
    # pusher's own scope, and the registry refuses the mount. containerd before 2.1 (BuildKit
    # before 0.23) then fails the push instead of uploading the layer
    # (containerd/containerd#11709). Here: one machine pulls the owner's private image, then
    # pushes it as another user.
    owner, other = regauth.cli.new_account("delete"), regauth.cli.new_account("delete")
    pulled_from = _push(ctr, registry, test_image, owner)
    ctr.remove(pulled_from)
    assert ctr.pull(pulled_from, *_user(owner)).ok
    reference = registry.reference(other.repository())
    ctr.check("images", "tag", pulled_from, reference)
    mark = regauth.log_size()

    pushed = ctr.push(reference, *_user(other))

    log = regauth.log_since(mark)
    assert f"repository:{owner.repository()}:pull: not the owner" in log, log
    assert f'"granted":"repository:{other.repository()}:pull,push"' in log, log
    if _containerd_version(ctr) >= (2, 1):
        assert pushed.ok, pushed
    else:
        assert not pushed.ok, pushed
        assert "server message: insufficient_scope: authorization failed" in pushed.stderr
