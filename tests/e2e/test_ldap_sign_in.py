"""LDAP sign-in end to end: a real slapd (tests/support/ldap.py), regauth with [ldap] and a
group mapping, a real registry and docker. A directory user logs in to docker with the
directory password and gets the team access their LDAP group maps to; leaving the group takes
it away at the next sign-in (once the remembered check has expired); with the directory
stopped a password login is a 503 that says to use a PAT, while a PAT still pulls."""

from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import http_get
from tests.e2e.harness.regauth import SERVICE, Flavour, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.builders import basic
from tests.support.images import BuiltImage
from tests.support.ldap import LdapServer, regauth_settings

pytestmark = pytest.mark.e2e

# Short, so that the test can wait it out: a success remembered this long costs no bind and
# no provisioning, so group changes show only after it.
CACHE_SECONDS = 2
DENIED = "denied: requested access to the resource is denied"
DOWN = "the directory is unavailable: use a personal access token"


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


@pytest.fixture(scope="module")
def ldap_regauth(service_root: Path, ldap_server: LdapServer) -> Iterator[RegauthServer]:
    """regauth signing passwords in through the test directory; acme's dev team (which the
    LDAP group `developers` maps to) may push acme/app."""
    server = RegauthServer(
        service_root / "regauth-ldap",
        Flavour("ldap"),
        limits={"failures_per_ip": 10_000},
    )
    sections = {
        "ldap": regauth_settings(ldap_server),
        "auth": {"password_cache_seconds": CACHE_SECONDS},
    }
    with server.config_path.open("a") as config:
        for name, values in sections.items():
            config.write(f"[{name}]\n")
            config.writelines(f"{key} = {_toml(value)}\n" for key, value in values.items())
        config.write('[groups]\nmappings = ["developers=acme/dev"]\n')
    server.cli.check("user", "add", "olivia")
    server.cli.check("org", "create", "acme", "--owner", "olivia")
    server.cli.check("team", "create", "acme", "dev")
    server.cli.check("team", "grant", "acme", "dev", "app", "write")
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def ldap_registry(service_root: Path, ldap_regauth: RegauthServer) -> Iterator[Registry]:
    registry = Registry(
        service_root / "registry-ldap", name="ldap", auth_stanza=ldap_regauth.registry_auth_stanza()
    )
    registry.start()
    yield registry
    registry.stop()


@pytest.fixture(autouse=True)
def directory_as_it_was(ldap_server: LdapServer) -> Iterator[None]:
    yield
    ldap_server.start()
    ldap_server.reset()


def _push(docker: DockerClient, reference: str, image: BuiltImage) -> str:
    docker.load_as(image.docker_archive, image.image_id, reference)
    return docker.run("push", reference).output


def test_a_directory_user_pushes_where_their_group_maps_them(
    docker: DockerClient,
    ldap_registry: Registry,
    ldap_regauth: RegauthServer,
    ldap_server: LdapServer,
    test_image: BuiltImage,
) -> None:
    login = docker.login(ldap_registry.host, "alice", ldap_server.password("alice"))
    assert login.ok, login
    reference = ldap_registry.reference("acme/app", "alice")
    pushed = _push(docker, reference, test_image)
    assert "digest: sha256:" in pushed, pushed
    assert ldap_server.password("alice") not in docker.config_text()
    # carol is in no group: her account is made, with no way into acme.
    login = docker.login(ldap_registry.host, "carol", ldap_server.password("carol"))
    assert login.ok, login
    assert DENIED in _push(docker, ldap_registry.reference("acme/app", "carol"), test_image)


def test_leaving_the_group_takes_the_access_away_at_the_next_sign_in(
    docker: DockerClient,
    ldap_registry: Registry,
    ldap_server: LdapServer,
    test_image: BuiltImage,
) -> None:
    password = ldap_server.password("bob")
    assert docker.login(ldap_registry.host, "bob", password).ok
    reference = ldap_registry.reference("acme/app", "bob")
    assert "digest: sha256:" in _push(docker, reference, test_image)
    ldap_server.remove_member("developers", "bob")
    time.sleep(CACHE_SECONDS + 0.5)  # the remembered check runs out: the next one binds
    login = docker.login(ldap_registry.host, "bob", password)
    assert login.ok, login
    assert DENIED in docker.run("push", reference).output


def test_with_the_directory_stopped_a_password_is_refused_and_a_pat_pulls(
    docker: DockerClient,
    ldap_registry: Registry,
    ldap_regauth: RegauthServer,
    ldap_server: LdapServer,
    test_image: BuiltImage,
) -> None:
    password = ldap_server.password("alice")
    assert docker.login(ldap_registry.host, "alice", password).ok
    reference = ldap_registry.reference("acme/app", "pat")
    assert "digest: sha256:" in _push(docker, reference, test_image)
    pat = ldap_regauth.cli.create_pat("alice", "read")
    assert docker.run("logout", ldap_registry.host).ok
    assert docker.run("rmi", "--force", test_image.image_id).ok
    with ldap_server.down():
        time.sleep(CACHE_SECONDS + 0.5)  # nothing remembered: the directory must answer
        login = docker.login(ldap_registry.host, "alice", password)
        assert not login.ok, login
        # docker prints the status of a refusal other than 401, not its body: the body says why.
        assert "503 Service Unavailable" in login.output, login
        answer = http_get(
            f"{ldap_regauth.realm}?service={SERVICE}&offline_token=true", basic("alice", password)
        )
        assert (answer.status, answer.json()["details"]) == (503, DOWN)
        login = docker.login(ldap_registry.host, "alice", pat)
        assert login.ok, login
        pulled = docker.run("pull", reference)
        assert pulled.ok, pulled
