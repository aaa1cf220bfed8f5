"""Builders for a config, a runtime on a real temp SQLite file, users and tokens."""

from __future__ import annotations

import base64
import dataclasses
from pathlib import Path
from typing import Any

from regauth.config import Config, load_config
from regauth.models import CLI_ACTOR, AccessLevel
from regauth.runtime import Runtime


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
    return str(created.token)


def basic(username: str, secret: str) -> dict[str, str]:
    raw = base64.b64encode(f"{username}:{secret}".encode()).decode()
    return {"Authorization": f"Basic {raw}"}
