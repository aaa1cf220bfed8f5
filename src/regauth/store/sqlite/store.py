"""The SQLite store: the backend-neutral tables on the SQLite backend."""

from __future__ import annotations

from pathlib import Path

from regauth.store.sql.admin_keys import AdminKeysTable
from regauth.store.sql.audit import AuditTable
from regauth.store.sql.org_tokens import OrgTokensTable
from regauth.store.sql.orgs import OrganizationsTable
from regauth.store.sql.repositories import RepositoriesTable
from regauth.store.sql.tokens import TokensTable
from regauth.store.sql.users import TotpTable, UsersTable
from regauth.store.sqlite.backend import SQLiteBackend

# SQLite takes one writer at a time; a few threads let reads run beside a waiting write.
THREADS = 4


class SQLiteStore(
    UsersTable,
    TotpTable,
    TokensTable,
    RepositoriesTable,
    AuditTable,
    AdminKeysTable,
    OrganizationsTable,
    OrgTokensTable,
):
    def __init__(self, path: str | Path, *, threads: int = THREADS) -> None:
        super().__init__(SQLiteBackend(path), threads=threads)
