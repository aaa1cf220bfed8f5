"""Persistence: one protocol per aggregate (base.py), SQL written once (sql/), and the
backends that run it (sqlite/, the embedded default; postgres/, for replicas)."""

from __future__ import annotations

from pathlib import Path

from regauth.config import StorageConfig
from regauth.errors import ConfigError
from regauth.store.base import Store
from regauth.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore", "Store", "open_store"]


def open_store(storage: StorageConfig, *, migrate: bool | None = None) -> Store:
    """The configured backend; its schema migrated unless `[storage] migrate = false`."""
    migrate = storage.migrate if migrate is None else migrate
    if not storage.url:
        return SQLiteStore(storage.path, migrate=migrate)
    from regauth.store.postgres.store import PostgresStore  # psycopg only when configured

    return PostgresStore(postgres_url(storage), pool_size=storage.pool_size, migrate=migrate)


def postgres_url(storage: StorageConfig) -> str:
    """The URL with the password from `password_file`, if one is configured."""
    if not storage.password_file:
        return storage.url
    from psycopg.conninfo import make_conninfo

    try:
        password = Path(storage.password_file).read_text(encoding="utf-8").strip()
    except OSError as exc:
        raise ConfigError(
            f"storage.password_file: cannot read {storage.password_file}: {exc.strerror}"
        ) from None
    return make_conninfo(storage.url, password=password)
