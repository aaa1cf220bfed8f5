"""Persistence: one protocol per aggregate (base.py), SQL written once (sql/), and the
backends that run it (sqlite/, the embedded default; postgres/, for replicas)."""

from __future__ import annotations

from regauth.store.base import Store
from regauth.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore", "Store", "open_store"]


def open_store(path: str) -> Store:
    return SQLiteStore(path)
