"""Builders for a config, a runtime on a real temp SQLite file, users, tokens and API sessions.

Every secret they make is remembered: the session's log check fails if one is ever logged.
"""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestClient

from regauth.config import Config, load_config
from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.runtime import Runtime
from tests.support.secrets import remember


def make_config(tmp_path: Path, **sections: dict[str, Any]) -> Config:
    config = load_config(None, {})
    changes: dict[str, Any] = {
        "storage": dataclasses.replace(config.storage, path=str(tmp_path / "regauth.db")),
        "keys": dataclasses.replace(config.keys, dir=str(tmp_path / "keys")),
    }
    for name, values in sections.items():
        changes[name] = dataclasses.replace(changes.get(name, getattr(config, name)), **values)
    return dataclasses.replace(config, **changes)


def add_user(
    runtime: Runtime, name: str, password: str | None = "correct horse", *, admin: bool = False
) -> None:
    runtime.users.create(name, password, CLI_ACTOR, is_admin=admin)
    if password is not None:
        remember(password)


def add_token(
    runtime: Runtime,
    user: str,
    access: AccessLevel = AccessLevel.DELETE,
    *,
    expires_at: int | None = None,
    description: str = "test token",
) -> str:
    created = runtime.tokens.create(
        runtime.users.get(user),
        CLI_ACTOR,
        description=description,
        access=access,
        expires_at=expires_at,
    )
    return remember(str(created.token))


async def sign_in(
    client: TestClient[web.Request, web.Application], username: str, password: str
) -> dict[str, str]:
    """An API session (`POST /v2/users/login`): the Authorization header that carries its JWT."""
    response = await client.post(
        "/v2/users/login", json={"username": username, "password": password}
    )
    assert response.status == 200, await response.text()
    return {"Authorization": f"Bearer {remember((await response.json())['token'])}"}


def basic(username: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}
