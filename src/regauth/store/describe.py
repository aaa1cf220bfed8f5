"""Which database a config names, for output and logs: a file, or a server and database.

Apart from the copy (store/copy.py), so that naming a SQLite file does not import psycopg:
`serve` on the embedded default names its database at start, and a worker forked from it
would carry the PostgreSQL driver (73 modules and libpq, ~9 MiB) it never uses.
"""

from __future__ import annotations

from pathlib import Path

from regauth.config import StorageConfig
from regauth.errors import CopyError


def describe_storage(storage: StorageConfig) -> str:
    """The configured database, for output: a file, or a server and database (no password)."""
    if storage.url:
        return f"PostgreSQL {describe_url(storage.url)}"
    return f"SQLite {Path(storage.path).resolve()}"


def describe_url(url: str) -> str:
    """`host:port/dbname` of a PostgreSQL URL or conninfo string, never its password."""
    import psycopg  # only PostgreSQL is described by a URL
    from psycopg.conninfo import conninfo_to_dict

    try:
        info = conninfo_to_dict(url)
    except psycopg.ProgrammingError:
        # Not quoted: the text may hold the password.
        raise CopyError("not a valid PostgreSQL connection URL") from None
    host = str(info.get("host") or "local socket")
    port = f":{info['port']}" if info.get("port") else ""
    return f"{host}{port}/{info.get('dbname') or '(default database)'}"
