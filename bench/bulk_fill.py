"""Fills a benchmark database in bulk: real PATs for the load, and stored tokens to grow the
table, written straight into SQLite in one transaction each (the CLI takes ~0.3 s a token:
10^6 of them would take days).

The rows are those `token create` writes (the secret's keyed hash under the deployment's
key), so every PAT here signs in as one the CLI made would. Only for an empty benchmark
database, before any server opens it.
"""

from __future__ import annotations

import os
import sqlite3
import time
import uuid
from pathlib import Path

from regauth_fixture import Credential

from regauth.config import load_config
from regauth.domain.tokens import AccessToken, TokenKind
from regauth.runtime import load_keyring

_INSERT = (
    "INSERT INTO tokens (id, uuid, owner_id, description, access, secret_hash, created_at)"
    " VALUES (?, ?, ?, ?, 'delete', ?, ?)"
)
_BATCH = 50_000


def new_pats(users: list[str], per_user: int) -> list[tuple[str, AccessToken]]:
    """`per_user` new PATs for each user, not stored yet (insert_pats stores them)."""
    return [(u, AccessToken.generate(TokenKind.PERSONAL)) for u in users for _ in range(per_user)]


def insert_pats(config: Path, pats: list[tuple[str, AccessToken]]) -> list[Credential]:
    """The PATs, with `delete` access, in this deployment's database (the users exist)."""
    key, database = _deployment(config)
    now = int(time.time())
    rows = []
    with sqlite3.connect(database) as conn:
        owners = dict(conn.execute("SELECT name, id FROM users").fetchall())
        for t, (user, token) in enumerate(pats):
            rows.append(
                (
                    token.public_id,
                    str(uuid.uuid4()),
                    owners[user],
                    f"bench {t}",
                    token.secret_hash(key),
                    now,
                )
            )
        conn.executemany(_INSERT, rows)
    return [Credential(user, str(token)) for user, token in pats]


def add_stored_tokens(config: Path, owner_name: str, count: int) -> None:
    """`count` more tokens of `owner_name`, whose secrets nobody keeps: the table's size."""
    database = load_config(config, {}).storage.path
    now = int(time.time())
    with sqlite3.connect(database) as conn:
        (owner,) = conn.execute("SELECT id FROM users WHERE name = ?", (owner_name,)).fetchone()
        for start in range(0, count, _BATCH):
            rows = []
            for i in range(start, min(count, start + _BATCH)):
                token = AccessToken.generate(TokenKind.PERSONAL)
                secret_hash = os.urandom(32)  # no secret: nobody signs in with these
                rows.append(
                    (token.public_id, str(uuid.uuid4()), owner, f"stored {i}", secret_hash, now)
                )
            conn.executemany(_INSERT, rows)
        conn.commit()


def _deployment(config: Path) -> tuple[bytes, str]:
    loaded = load_config(config, {})
    return load_keyring(loaded, check_algorithm=False).hmac_key, loaded.storage.path
