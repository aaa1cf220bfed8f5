"""Password sign-in through the company directory, through the real app and a real slapd
(tests/support/ldap.py): /token with Basic and the account API's login make the account just in
time and give the team access its groups map to; a success is remembered (no bind, no write);
the directory down is a 503 while tokens work; failures count against the throttle; a local
account keeps its local password; with single sign-on enforced no password is checked."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from typing import Any

import jwt
import pytest

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, TeamPermission, User
from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_org,
    add_scim_key,
    add_token,
    add_user,
    basic,
    reconfigured,
)
from tests.support.clock import FakeClock
from tests.support.ldap import SUFFIX, LdapServer, regauth_settings

CACHE_SECONDS = 60
DOWN = "the directory is unavailable: use a personal access token"
ENFORCED = "single sign-on is enforced: use a personal access token"
INCORRECT = "incorrect username or password"


@pytest.fixture
def config(config: Config, ldap_server: LdapServer) -> Config:
    return reconfigured(
        config,
        ldap=regauth_settings(ldap_server),
        groups={"mappings": ("developers=acme/dev", "platform=acme/ops")},
        auth={"password_cache_seconds": CACHE_SECONDS},
        limits={"failures_per_user_ip": 3},
    )


@pytest.fixture(autouse=True)
def acme(runtime: Runtime, ldap_server: LdapServer) -> None:
    """acme's dev team may push acme/app, its ops team may administer acme/infra."""
    add_user(runtime, "olivia", None)
    org = add_org(runtime, "acme", "olivia")
    for team, pattern, permission in (
        ("dev", "app", TeamPermission.WRITE),
        ("ops", "infra", TeamPermission.ADMIN),
    ):
        made = runtime.organizations.create_team(org, team, "", CLI_ACTOR)
        runtime.organizations.set_permission(org, made, pattern, permission, CLI_ACTOR)
    ldap_server.start()  # after a test that failed while it was down


def enforced(config: Config) -> Config:
    """`config` with [oidc] enforce = true. The authenticator reads `oidc.enforce` by name;
    until the [oidc] section is on main, a Config with that one field stands for it."""
    if "oidc" in {f.name for f in dataclasses.fields(Config)}:
        return reconfigured(config, oidc={"enforce": True})

    @dataclasses.dataclass(frozen=True)
    class Oidc:
        enforce: bool = True

    @dataclasses.dataclass(frozen=True)
    class WithOidc(Config):
        oidc: Oidc = dataclasses.field(default_factory=Oidc)

    return WithOidc(**{f.name: getattr(config, f.name) for f in dataclasses.fields(Config)})


async def token(client: Client, username: str, secret: str, scope: str) -> tuple[int, Any]:
    response = await client.get(
        f"/token?service=registry&scope={scope}", headers=basic(username, secret)
    )
    return response.status, await response.json()


def actions(body: dict[str, Any]) -> list[str]:
    claims = jwt.decode(body["token"], options={"verify_signature": False})
    return sorted(a for entry in claims["access"] for a in entry["actions"])


def account(runtime: Runtime, name: str) -> User | None:
    return runtime.store.get_user(name)


def ldap_links(runtime: Runtime, name: str) -> list[str]:
    user = account(runtime, name)
    assert user is not None
    return [i.subject for i in runtime.store.identities_of(user.id) if i.source == "ldap"]


async def test_docker_login_with_the_directory_password_makes_the_account(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    assert account(runtime, "alice") is None
    status, body = await token(
        client, "alice", ldap_server.password("alice"), "repository:acme/app:push,pull"
    )
    assert status == 200, body
    assert actions(body) == ["pull", "push"]  # developers -> acme/dev, which may push acme/app
    alice = account(runtime, "alice")
    assert alice is not None
    assert alice.linked
    assert alice.password_hash is None  # the directory's password is never kept here
    assert ldap_links(runtime, "alice") == [ldap_server.entry_uuid("uid=alice,ou=people," + SUFFIX)]
    # platform -> acme/ops: admin of acme/infra.
    status, body = await token(
        client, "alice", ldap_server.password("alice"), "repository:acme/infra:pull,push,delete"
    )
    assert (status, actions(body)) == (200, ["delete", "pull", "push"])


async def test_a_wrong_password_is_401_and_makes_nothing(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    for name, password in (("bob", ldap_server.password("alice")), ("bob", "")):
        status, body = await token(client, name, password, "repository:acme/app:pull")
        assert status == 401, body
        assert body["details"] == INCORRECT
    assert account(runtime, "bob") is None


@pytest.mark.parametrize("name", ["*", "*)(uid=*", "alice)(|(uid=*", "al*", "alice\x00", "a\\b"])
async def test_filter_syntax_in_the_name_is_a_401_and_no_account(
    client: Client, runtime: Runtime, ldap_server: LdapServer, name: str
) -> None:
    status, body = await token(client, name, ldap_server.password("alice"), "")
    # A NUL never gets past the boundary (400 "invalid username"); the rest reach the
    # directory's adapter, which refuses them before any search.
    assert (status, body["details"]) in ((401, INCORRECT), (400, "invalid username")), body
    assert [u.name for u in runtime.store.list_users()] == ["olivia"]


async def test_failures_count_against_the_sign_in_throttle(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    for _ in range(3):
        status, _ = await token(client, "bob", "not-bob-s-password", "")
        assert status == 401
    # Locked out now, even with the right password: the bind is not even tried.
    with ldap_server.down():
        status, body = await token(client, "bob", ldap_server.password("bob"), "")
    assert status == 429, body


async def test_a_success_is_remembered_without_a_bind_or_a_write(
    client: Client, runtime: Runtime, clock: FakeClock, ldap_server: LdapServer
) -> None:
    password = ldap_server.password("bob")
    assert (await token(client, "bob", password, ""))[0] == 200
    bob = account(runtime, "bob")
    assert bob is not None
    (link,) = runtime.store.identities_of(bob.id)
    clock.advance(CACHE_SECONDS - 1)
    with ldap_server.down():
        # Remembered: no bind (the directory is down), no provisioning write (last seen kept).
        status, body = await token(client, "bob", password, "repository:acme/app:pull")
        assert (status, actions(body)) == (200, ["pull"])
        assert runtime.store.identities_of(bob.id) == [link]
        # Another password is not: it needs the directory, which cannot answer.
        status, body = await token(client, "bob", password + "x", "")
        assert (status, body["details"]) == (503, DOWN)
        clock.advance(2)  # past password_cache_seconds: the directory must say it again
        status, body = await token(client, "bob", password, "")
        assert (status, body["details"]) == (503, DOWN)
    status, _ = await token(client, "bob", password, "")
    assert status == 200
    (seen_again,) = runtime.store.identities_of(bob.id)
    assert seen_again.last_seen_at is not None and link.last_seen_at is not None
    assert seen_again.last_seen_at > link.last_seen_at


async def test_a_name_the_account_is_not_called_is_checked_each_time(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    """uid matches without case: ALICE signs in as alice (the entry's spelling), and is
    remembered under neither name, so each sign-in as ALICE binds."""
    password = ldap_server.password("alice")
    assert (await token(client, "ALICE", password, ""))[0] == 200
    assert account(runtime, "alice") is not None
    assert account(runtime, "ALICE") is None
    with ldap_server.down():
        status, body = await token(client, "ALICE", password, "")
        assert (status, body["details"]) == (503, DOWN)


async def test_the_directory_down_is_a_503_for_passwords_and_tokens_still_work(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    assert (await token(client, "alice", ldap_server.password("alice"), ""))[0] == 200
    pat = add_token(runtime, "alice")
    with ldap_server.down():
        status, body = await token(client, "carol", ldap_server.password("carol"), "")
        assert (status, body["details"]) == (503, DOWN)
        login = await client.post(
            "/v2/users/login",
            json={"username": "carol", "password": ldap_server.password("carol")},
        )
        assert login.status == 503
        assert (await login.json())["details"] == DOWN
        status, body = await token(client, "alice", pat, "repository:acme/app:push,pull")
        assert (status, actions(body)) == (200, ["pull", "push"])
    # A 503 is no failed guess: carol is not locked out, and signs in now.
    assert (await token(client, "carol", ldap_server.password("carol"), ""))[0] == 200


async def test_a_group_change_shows_at_the_next_sign_in_after_the_remembered_one(
    client: Client, runtime: Runtime, clock: FakeClock, ldap_server: LdapServer
) -> None:
    password = ldap_server.password("bob")
    status, body = await token(client, "bob", password, "repository:acme/app:push,pull")
    assert (status, actions(body)) == (200, ["pull", "push"])
    try:
        ldap_server.remove_member("developers", "bob")
        clock.advance(CACHE_SECONDS + 1)
        status, body = await token(client, "bob", password, "repository:acme/app:push,pull")
        assert (status, actions(body)) == (200, [])
        ldap_server.add_member("platform", "bob")
        clock.advance(CACHE_SECONDS + 1)
        status, body = await token(
            client, "bob", password, "repository:acme/infra:pull,push,delete"
        )
        assert (status, actions(body)) == (200, ["delete", "pull", "push"])
    finally:
        ldap_server.reset()


async def test_the_account_api_login_with_the_directory_password(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    login = await client.post(
        "/v2/users/login", json={"username": "carol", "password": ldap_server.password("carol")}
    )
    assert login.status == 200, await login.text()
    session = {"Authorization": f"Bearer {(await login.json())['token']}"}
    tokens = await client.get("/v2/access-tokens", headers=session)
    assert tokens.status == 200, await tokens.text()
    carol = account(runtime, "carol")
    assert carol is not None
    assert carol.linked


async def test_a_local_account_keeps_its_local_password(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    add_user(runtime, "carol")  # a local carol, password "carol-password", no link
    assert (await token(client, "carol", "carol-password", ""))[0] == 200
    # The directory's carol is not asked about this name: her password is wrong here.
    status, body = await token(client, "carol", ldap_server.password("carol"), "")
    assert (status, body["details"]) == (401, INCORRECT)
    carol = account(runtime, "carol")
    assert carol is not None
    assert not carol.linked


async def test_a_local_account_without_a_password_is_never_linked_by_name(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    add_user(runtime, "carol", None)  # made by an admin for tokens only
    status, body = await token(client, "carol", ldap_server.password("carol"), "")
    assert status == 409, body
    assert "is taken by an account not linked to this identity" in body["details"]
    carol = account(runtime, "carol")
    assert carol is not None
    assert not carol.linked


async def scim_user(client: Client, runtime: Runtime, user_name: str, **attributes: Any) -> None:
    """A User the company's provisioner makes (POST /scim/v2/Users)."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}
    response = await client.post(
        "/scim/v2/Users", json={**body, **attributes}, headers=add_scim_key(runtime)
    )
    assert response.status == 201, await response.text()


async def test_an_account_scim_made_is_the_directory_persons_only_under_its_user_name(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    """Found from outside: SCIM's `carol@other-company.example` made the account carol, and the
    directory's carol, whose uid merely reduces to that name, was linked to it. The directory's
    name must be the resource's userName or externalId, in full (without ASCII case)."""
    await scim_user(client, runtime, "carol@other-company.example")
    status, body = await token(client, "carol", ldap_server.password("carol"), "")
    assert status == 409, body
    assert "the name 'carol' is taken by an account not linked to this identity" in body["details"]
    assert ldap_links(runtime, "carol") == []
    # Entra ID sends mailNickname as externalId: the directory's uid "bob" is that person.
    await scim_user(client, runtime, "robert.b@corp.example", externalId="BOB")
    status, body = await token(client, "bob", ldap_server.password("bob"), "")
    assert status == 200, body
    bob = account(runtime, "robert-b")
    assert bob is not None and account(runtime, "bob") is None
    assert ldap_links(runtime, "robert-b") == [
        ldap_server.entry_uuid("uid=bob,ou=people," + SUFFIX)
    ]


async def test_a_disabled_directory_account_is_refused(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    assert (await token(client, "carol", ldap_server.password("carol"), ""))[0] == 200
    runtime.users.set_disabled("carol", CLI_ACTOR, True)
    status, body = await token(client, "carol", ldap_server.password("carol") + "!", "")
    assert (status, body["details"]) == (401, INCORRECT)
    status, body = await token(client, "carol", ldap_server.password("carol"), "")
    assert (status, body["details"]) == (401, "account is disabled")


async def test_with_sso_enforced_no_password_is_checked(
    client: Client, runtime: Runtime, ldap_server: LdapServer
) -> None:
    assert (await token(client, "alice", ldap_server.password("alice"), ""))[0] == 200
    pat = add_token(runtime, "alice")
    add_user(runtime, "lena")  # local, with a password, linked to nothing
    runtime.settings.current = enforced(runtime.settings.current)
    with ldap_server.down():  # a bind would be a 503: none is made
        status, body = await token(client, "alice", ldap_server.password("alice"), "")
        assert (status, body["details"]) == (401, ENFORCED)
        # No account yet: no bind either, the name is as unknown as any other.
        status, body = await token(client, "bob", ldap_server.password("bob"), "")
        assert (status, body["details"]) == (401, INCORRECT)
        assert (await token(client, "alice", pat, ""))[0] == 200
        assert (await token(client, "lena", "lena-password", ""))[0] == 200
    assert account(runtime, "bob") is None
    # Refused unchecked, the password is no guess: alice is not locked out.
    for _ in range(4):
        status, _ = await token(client, "alice", ldap_server.password("alice"), "")
        assert status == 401
    assert (await token(client, "alice", pat, ""))[0] == 200


async def test_a_reload_that_changes_ldap_takes_effect_at_the_next_sign_in(
    client: Client, runtime: Runtime, ldap_server: LdapServer, tmp_path: Path
) -> None:
    current = runtime.settings.current
    runtime.settings.current = reconfigured(
        current, ldap=regauth_settings(ldap_server, url=ldap_server.ldaps_url)
    )
    assert (await token(client, "alice", ldap_server.password("alice"), ""))[0] == 200
    # A reload naming a password file that cannot be read: 503 until it is fixed, no 500.
    runtime.settings.current = reconfigured(
        current, ldap=regauth_settings(ldap_server, bind_password_file=str(tmp_path / "gone"))
    )
    status, body = await token(client, "bob", ldap_server.password("bob"), "")
    assert (status, body["details"]) == (503, DOWN)
    runtime.settings.current = current
    assert (await token(client, "bob", ldap_server.password("bob"), ""))[0] == 200
