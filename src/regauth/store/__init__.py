"""Persistence: the store interface and its SQLite implementation."""

from __future__ import annotations

from regauth.store.base import Store
from regauth.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore", "Store", "open_store"]


def open_store(path: str) -> Store:
    return SQLiteStore(path)
