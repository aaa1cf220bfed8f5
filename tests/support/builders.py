"""Builders for a config, a runtime's data on a real temp SQLite file (users, tokens, admin keys,
organizations) and sessions of the real app (signing in, with or without a second factor).

Every secret they make is remembered: the session's log check fails if one is ever logged.
"""

from __future__ import annotations

import base64
import dataclasses
import enum
import time
from pathlib import Path
from typing import Any, Literal, Protocol

import pyotp
from aiohttp import web
from aiohttp.test_utils import TestClient

from regauth.config import Config, load_config
from regauth.domain.models import CLI_ACTOR, AccessLevel, Organization, TokenRecord, User
from regauth.runtime import Runtime
from tests.support.secrets import remember

# What the `client` fixture (tests/conftest.py) is: the real app, served on a local port.
Client = TestClient[web.Request, web.Application]


class OpenRuntime(Protocol):
    """What the `another_runtime` fixture is: opens a runtime on the test's data."""

    def __call__(self, **sections: dict[str, Any]) -> Runtime: ...


class _Default(enum.Enum):
    PASSWORD = enum.auto()


def password_of(name: str) -> str:
    """The password `add_user` gives an account unless told otherwise, and `sign_in` sends."""
    return f"{name}-password"


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    """The defaults, with the database and the keys in `tmp_path`, and `sections` changed:
    `make_config(tmp_path, limits={"failures_per_ip": 10})`."""
    config = load_config(None, {})
    config = dataclasses.replace(
        config,
        storage=dataclasses.replace(config.storage, path=str(tmp_path / "regauth.db")),
        keys=dataclasses.replace(config.keys, dir=str(tmp_path / "keys")),
    )
    return reconfigured(config, **sections)


def reconfigured(config: Config, **sections: dict[str, Any]) -> Config:
    """`config` with the keys of `sections` changed, as `make_config` takes them."""
    changes = {
        name: dataclasses.replace(getattr(config, name), **values)
        for name, values in sections.items()
    }
    return dataclasses.replace(config, **changes)


# -- a runtime's data ---------------------------------------------------------------------------


def add_user(
    runtime: Runtime,
    name: str,
    password: str | Literal[_Default.PASSWORD] | None = _Default.PASSWORD,
    *,
    admin: bool = False,
) -> User:
    """An account with `password_of(name)`, or the password given; None: no password (each
    hash is ~25 ms of argon2, so accounts that never sign in with one are cheaper without)."""
    if password is _Default.PASSWORD:
        password = password_of(name)
    user = runtime.users.create(name, password, CLI_ACTOR, is_admin=admin)
    if password is not None:
        remember(password)
    return user


def add_token(
    runtime: Runtime,
    user: str,
    access: AccessLevel = AccessLevel.DELETE,
    *,
    expires_at: int | None = None,
    description: str = "test token",
) -> str:
    """A new personal access token of `user`: the whole secret."""
    created = runtime.tokens.create(
        runtime.users.get(user),
        CLI_ACTOR,
        description=description,
        access=access,
        expires_at=expires_at,
    )
    return remember(str(created.token))


def add_unchecked_token(
    runtime: Runtime, user: str, description: str, created_user_agent: str | None = None
) -> TokenRecord:
    """A token written straight to the store, past the services' checks: what a database from
    before a check (a description with control characters, say) still holds. No usable
    secret."""
    return runtime.store.create_token(
        token_id="OldToken01",
        uuid="6d3f7a52-0d1c-4c43-9a4b-2f1f8c0d7e11",
        owner_id=runtime.users.get(user).id,
        description=description,
        access=AccessLevel.READ,
        secret_hash=b"\0" * 32,
        expires_at=None,
        created_ip=None,
        created_user_agent=created_user_agent,
        now=int(runtime.clock()),
    )


def add_admin_key(runtime: Runtime, description: str = "ops") -> dict[str, str]:
    """A new admin API key (what `regauth admin-key create` makes): its Authorization header."""
    created = runtime.admin_keys.create(description, CLI_ACTOR)
    return bearer(remember(str(created.secret)))


def add_scim_key(runtime: Runtime) -> dict[str, str]:
    """A SCIM key (what `regauth admin-key create --scim` makes): its Authorization header."""
    created = runtime.admin_keys.create("scim provisioning", CLI_ACTOR, purpose="scim")
    return bearer(remember(str(created.secret)))


def add_org(runtime: Runtime, name: str, owner: str) -> Organization:
    """An organization that `owner`, an existing account, owns (what `regauth org create` does)."""
    return runtime.organizations.create(name, runtime.users.get(owner), CLI_ACTOR)


def enable_two_factor(runtime: Runtime, user: str) -> tuple[pyotp.TOTP, list[str]]:
    """Two-factor authentication on for `user`, confirmed with the code of the runtime's clock
    (so the next code accepted is the next step's): the authenticator app and the recovery
    codes."""
    account = runtime.users.get(user)
    enrollment = runtime.two_factor.enroll(account, CLI_ACTOR)
    totp = pyotp.TOTP(remember(enrollment.secret))
    codes = runtime.two_factor.confirm(account, CLI_ACTOR, totp.at(runtime.clock()))
    return totp, [remember(code) for code in codes]


# -- credentials and sessions of the real app ---------------------------------------------------


def basic(username: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


async def sign_in(client: Client, username: str, password: str | None = None) -> dict[str, str]:
    """An API session (`POST /v2/users/login`) with `password_of(username)` unless told (a PAT
    opens a PAT session): the Authorization header that carries its JWT."""
    response = await client.post(
        "/v2/users/login",
        json={"username": username, "password": _password(username, password)},
    )
    assert response.status == 200, await response.text()
    return bearer(remember((await response.json())["token"]))


async def sign_in_ticket(client: Client, username: str, password: str | None = None) -> str:
    """The first step of signing in to an account with two-factor authentication: the ticket
    (`login_2fa_token`) that the password earns instead of a session."""
    response = await client.post(
        "/v2/users/login",
        json={"username": username, "password": _password(username, password)},
    )
    body = await response.json()
    assert response.status == 401 and "login_2fa_token" in body, body
    return remember(body["login_2fa_token"])


async def sign_in_with_code(
    client: Client, username: str, code: str, password: str | None = None
) -> dict[str, str]:
    """Both steps (`/v2/users/login`, then `/v2/users/2fa-login` with a TOTP or recovery code):
    the Authorization header of the password session."""
    ticket = await sign_in_ticket(client, username, password)
    response = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": code}
    )
    assert response.status == 200, await response.text()
    return bearer(remember((await response.json())["token"]))


async def docker_login(client: Client, username: str, secret: str | None = None) -> dict[str, Any]:
    """`docker login` (`GET /token` with `offline_token=true`, as docker sends it) with
    `password_of(username)` unless told: the body, with a session token as `refresh_token` when
    a password signed in."""
    response = await client.get(
        f"/token?account={username}&client_id=docker&offline_token=true&service=registry",
        headers=basic(username, _password(username, secret)),
    )
    assert response.status == 200, await response.text()
    body: dict[str, Any] = await response.json()
    if "refresh_token" in body:
        remember(body["refresh_token"])
    return body


def _password(username: str, given: str | None) -> str:
    return password_of(username) if given is None else given


def settled(runtime: Runtime, *, quiet: float = 0.1, limit: float = 2.0) -> None:
    """Until `runtime` has heard of every change made so far. On SQLite it has at once (the
    change signal is read on every request); PostgreSQL delivers changes made by another
    process or replica through LISTEN/NOTIFY, within the bound (milliseconds)."""
    if runtime.store.backend != "postgresql":
        return
    deadline = time.monotonic() + limit

    def heard() -> tuple[object, int]:
        return runtime.store.version(), runtime.store.row_stamp()

    seen, since = heard(), time.monotonic()
    while time.monotonic() - since < quiet and time.monotonic() < deadline:
        time.sleep(0.005)
        if heard() != seen:
            seen, since = heard(), time.monotonic()
