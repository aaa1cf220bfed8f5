"""Every table module in one class: what a backend's store is, over its own connections."""

from __future__ import annotations

from regauth.store.sql.admin_keys import AdminKeysTable
from regauth.store.sql.audit import AuditTable
from regauth.store.sql.audit_export import AuditExportTable
from regauth.store.sql.credentials import CredentialsTable
from regauth.store.sql.identities import IdentitiesTable
from regauth.store.sql.jobs import JobsTable
from regauth.store.sql.meta import MetaTable
from regauth.store.sql.notifications import NotificationsTable
from regauth.store.sql.org_tokens import OrgTokensTable
from regauth.store.sql.orgs import OrganizationsTable
from regauth.store.sql.repositories import RepositoriesTable
from regauth.store.sql.rotation import RotationTable
from regauth.store.sql.scim import ScimTable
from regauth.store.sql.tokens import TokensTable
from regauth.store.sql.users import TotpTable, UsersTable
from regauth.store.sql.web_sessions import WebSessionsTable


class Tables(
    UsersTable,
    TotpTable,
    TokensTable,
    RepositoriesTable,
    AuditTable,
    AdminKeysTable,
    OrganizationsTable,
    OrgTokensTable,
    MetaTable,
    WebSessionsTable,
    IdentitiesTable,
    ScimTable,
    NotificationsTable,
    JobsTable,
    CredentialsTable,
    RotationTable,
    AuditExportTable,
):
    """Hot-path reads are fixed statements both drivers keep prepared."""
