"""The SQLite store: one table module per aggregate, composed in `store.py`."""

from regauth.store.sqlite.store import SQLiteStore

__all__ = ["SQLiteStore"]
