"""Versioned schema migrations for the SQLite store, tracked in PRAGMA user_version."""

from __future__ import annotations

import sqlite3

from regauth.errors import ConfigError

# Append only: each entry moves the schema from version N to N+1. Never edit a shipped one.
MIGRATIONS: tuple[tuple[str, ...], ...] = (
    (
        """CREATE TABLE users (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            password_hash TEXT,
            is_admin INTEGER NOT NULL DEFAULT 0,
            disabled INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE tokens (
            id TEXT PRIMARY KEY,
            uuid TEXT NOT NULL UNIQUE,
            owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            description TEXT NOT NULL,
            access TEXT NOT NULL,
            secret_hash BLOB NOT NULL,
            active INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            expires_at INTEGER,
            created_ip TEXT,
            created_user_agent TEXT,
            last_used_at INTEGER,
            last_used_ip TEXT,
            last_used_user_agent TEXT
        )""",
        "CREATE INDEX tokens_owner ON tokens(owner_id)",
        """CREATE TABLE repositories (
            name TEXT PRIMARY KEY,
            visibility TEXT NOT NULL CHECK (visibility IN ('public', 'private')),
            created_at INTEGER NOT NULL
        )""",
    ),
    (
        # Docker Hub's overview says whether a token was made by hand or by a sign-in.
        "ALTER TABLE tokens ADD COLUMN generated_by TEXT NOT NULL DEFAULT 'manual'",
        """CREATE TABLE admin_keys (
            id TEXT PRIMARY KEY,
            description TEXT NOT NULL,
            secret_hash BLOB NOT NULL,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            revoked_at INTEGER,
            last_used_at INTEGER,
            last_used_ip TEXT
        )""",
        """CREATE TABLE audit_events (
            id INTEGER PRIMARY KEY,
            at INTEGER NOT NULL,
            actor TEXT NOT NULL,
            actor_kind TEXT NOT NULL,
            action TEXT NOT NULL,
            target TEXT,
            ip TEXT,
            user_agent TEXT,
            details TEXT,
            -- Failed sign-ins are counted into one row per key and hour, not one row each.
            count INTEGER NOT NULL DEFAULT 1,
            aggregate_key TEXT UNIQUE
        )""",
        "CREATE INDEX audit_at ON audit_events(at)",
        "CREATE INDEX audit_actor_at ON audit_events(actor, at)",
        "CREATE INDEX audit_action_at ON audit_events(action, at)",
    ),
    (
        # Two-factor auth: the TOTP secret is encrypted (it cannot be hashed: codes are derived
        # from it); the last accepted time step stops a code from being replayed.
        "ALTER TABLE users ADD COLUMN totp_secret BLOB",
        "ALTER TABLE users ADD COLUMN totp_enabled INTEGER NOT NULL DEFAULT 0",
        "ALTER TABLE users ADD COLUMN totp_last_step INTEGER",
        """CREATE TABLE recovery_codes (
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            code_hash BLOB NOT NULL,
            used_at INTEGER,
            PRIMARY KEY (user_id, code_hash)
        )""",
        # When tokens were created, per owner, for the hourly creation limit (deleting a
        # token must not give its creation back).
        """CREATE TABLE token_creations (
            owner_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            at INTEGER NOT NULL
        )""",
        "CREATE INDEX token_creations_owner_at ON token_creations(owner_id, at)",
        "CREATE INDEX tokens_owner_generated ON tokens(owner_id, generated_by, created_at)",
    ),
    (
        # Organizations own the namespace of their name, like users; the two share one space.
        """CREATE TABLE organizations (
            id INTEGER PRIMARY KEY,
            name TEXT NOT NULL UNIQUE,
            created_at INTEGER NOT NULL
        )""",
        """CREATE TABLE org_members (
            org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            role TEXT NOT NULL CHECK (role IN ('owner', 'member')),
            PRIMARY KEY (org_id, user_id)
        )""",
        "CREATE INDEX org_members_user ON org_members(user_id)",
        """CREATE TABLE teams (
            id INTEGER PRIMARY KEY,
            org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            name TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            UNIQUE (org_id, name)
        )""",
        """CREATE TABLE team_members (
            team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            PRIMARY KEY (team_id, user_id)
        )""",
        """CREATE TABLE team_permissions (
            team_id INTEGER NOT NULL REFERENCES teams(id) ON DELETE CASCADE,
            pattern TEXT NOT NULL,
            permission TEXT NOT NULL CHECK (permission IN ('read', 'write', 'admin')),
            PRIMARY KEY (team_id, pattern)
        )""",
        """CREATE TABLE org_tokens (
            id TEXT PRIMARY KEY,
            uuid TEXT NOT NULL UNIQUE,
            org_id INTEGER NOT NULL REFERENCES organizations(id) ON DELETE CASCADE,
            label TEXT NOT NULL,
            description TEXT NOT NULL DEFAULT '',
            secret_hash BLOB NOT NULL,
            public_read INTEGER NOT NULL DEFAULT 0,
            active INTEGER NOT NULL DEFAULT 1,
            created_at INTEGER NOT NULL,
            created_by TEXT NOT NULL,
            expires_at INTEGER,
            last_used_at INTEGER,
            last_used_ip TEXT,
            last_used_user_agent TEXT
        )""",
        "CREATE INDEX org_tokens_org ON org_tokens(org_id)",
        """CREATE TABLE org_token_resources (
            token_id TEXT NOT NULL REFERENCES org_tokens(id) ON DELETE CASCADE,
            path TEXT NOT NULL,
            actions TEXT NOT NULL,
            PRIMARY KEY (token_id, path)
        )""",
    ),
    (
        # Insertion order without rowid (PostgreSQL has none): "the oldest" among tokens
        # created in the same second.
        "ALTER TABLE tokens ADD COLUMN seq INTEGER NOT NULL DEFAULT 0",
        "UPDATE tokens SET seq = rowid",
        # Facts about the deployment itself, e.g. the fingerprint of the HMAC secret.
        "CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL)",
    ),
    (
        # The web page's sign-in sessions, held on the server so that signing out (or a new
        # password, a second factor, a disabled account) ends them: the cookie holds only a
        # random secret, and the id is its keyed hash (a copy of the table opens nothing).
        # token_id: the personal access token a read-only session was opened with, which
        # takes the session with it when deleted.
        """CREATE TABLE web_sessions (
            id TEXT PRIMARY KEY,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            token_id TEXT REFERENCES tokens(id) ON DELETE CASCADE,
            read_only INTEGER NOT NULL DEFAULT 0,
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER NOT NULL,
            expires_at INTEGER NOT NULL,
            created_ip TEXT,
            user_agent TEXT
        )""",
        "CREATE INDEX web_sessions_user ON web_sessions(user_id)",
        "CREATE INDEX web_sessions_token ON web_sessions(token_id)",
        "CREATE INDEX web_sessions_expires ON web_sessions(expires_at)",
    ),
    (
        # Repositories regauth has granted a push to (first time, epoch seconds): what it can
        # know of a repository's existence, so that `repo set-visibility` on a name nobody
        # was ever let push can say so. Written in the last-use batches, never on /token.
        """CREATE TABLE pushed_repositories (
            name TEXT PRIMARY KEY,
            first_push_granted_at INTEGER NOT NULL
        )""",
    ),
    (
        # Single sign-on. An account is linked to what an identity provider says never
        # changes for the person (the ID token's sub, an LDAP entryUUID, a SCIM resource),
        # never to a name they could change there. groups: the provider's group names as
        # last seen (JSON list), which the [groups] mappings turn into teams.
        """CREATE TABLE identities (
            source TEXT NOT NULL CHECK (source IN ('oidc', 'ldap', 'scim')),
            issuer TEXT NOT NULL,
            subject TEXT NOT NULL,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            groups TEXT NOT NULL DEFAULT '[]',
            created_at INTEGER NOT NULL,
            last_seen_at INTEGER,
            PRIMARY KEY (source, issuer, subject)
        )""",
        "CREATE INDEX identities_user ON identities(user_id)",
        # Memberships a group mapping made ('mapping') go when the group goes; 'manual' ones,
        # made by an owner or admin, stay.
        "ALTER TABLE org_members ADD COLUMN source TEXT NOT NULL DEFAULT 'manual'",
        "ALTER TABLE team_members ADD COLUMN source TEXT NOT NULL DEFAULT 'manual'",
        # An admin-made key for one purpose: 'admin' (the admin API) or 'scim' (provisioning).
        "ALTER TABLE admin_keys ADD COLUMN purpose TEXT NOT NULL DEFAULT 'admin'",
        # SCIM's resources beyond the account: a user's attributes as the provisioner sent
        # them (JSON), and groups with their members.
        """CREATE TABLE scim_users (
            user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,
            id TEXT NOT NULL UNIQUE,
            external_id TEXT,
            attributes TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE scim_groups (
            id TEXT PRIMARY KEY,
            display_name TEXT NOT NULL UNIQUE,
            external_id TEXT,
            created_at INTEGER NOT NULL,
            updated_at INTEGER NOT NULL
        )""",
        """CREATE TABLE scim_group_members (
            group_id TEXT NOT NULL REFERENCES scim_groups(id) ON DELETE CASCADE,
            user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,
            PRIMARY KEY (group_id, user_id)
        )""",
        "CREATE INDEX scim_group_members_user ON scim_group_members(user_id)",
    ),
    (
        # Fine-grained personal access tokens: the repository names and namespace/prefix/*
        # patterns a token is limited to, comma-separated (neither holds a comma); NULL: no
        # list, whatever its owner may reach. A column, not a table: /token reads a token
        # in one lookup on its primary key.
        "ALTER TABLE tokens ADD COLUMN repositories TEXT",
        # Network-bound credentials: the client networks (CIDRs, comma-separated) a token or
        # key may be used from; NULL: anywhere.
        "ALTER TABLE tokens ADD COLUMN allow_from TEXT",
        "ALTER TABLE org_tokens ADD COLUMN allow_from TEXT",
        "ALTER TABLE admin_keys ADD COLUMN allow_from TEXT",
    ),
    (
        # Credential hygiene (expiry and staleness, rotation, audit export).
        # Rotation: a regenerated token's old secret, accepted until previous_secret_until
        # (a grace period the owner chose; none by default, and then both are NULL).
        "ALTER TABLE tokens ADD COLUMN previous_secret_hash BLOB",
        "ALTER TABLE tokens ADD COLUMN previous_secret_until INTEGER",
        # When the staleness policy last deactivated the token: its unused period counts
        # from then too, so a token its owner reactivates gets a whole period again.
        "ALTER TABLE tokens ADD COLUMN deactivated_unused_at INTEGER",
        "ALTER TABLE org_tokens ADD COLUMN deactivated_unused_at INTEGER",
        # Webhook notifications, one row per event: dedup_key makes each event once per
        # deployment (two workers or replicas noticing the same expiry insert one row), and a
        # delivery is claimed with a conditional UPDATE of claimed_until, so one process sends
        # it. payload: the JSON body as sent (never a secret).
        """CREATE TABLE notifications (
            id TEXT PRIMARY KEY,
            event TEXT NOT NULL,
            dedup_key TEXT NOT NULL UNIQUE,
            payload TEXT NOT NULL,
            created_at INTEGER NOT NULL,
            next_attempt_at INTEGER NOT NULL,
            attempts INTEGER NOT NULL DEFAULT 0,
            claimed_until INTEGER,
            delivered_at INTEGER,
            failed_at INTEGER,
            last_status INTEGER,
            last_error TEXT
        )""",
        "CREATE INDEX notifications_due ON notifications(next_attempt_at) "
        "WHERE delivered_at IS NULL AND failed_at IS NULL",
        "CREATE INDEX notifications_created ON notifications(created_at)",
        # Periodic work that must run once per deployment (the staleness sweep, expiry
        # notices): whoever moves due_at forward with a conditional UPDATE runs it.
        """CREATE TABLE scheduled_jobs (
            name TEXT PRIMARY KEY,
            due_at INTEGER NOT NULL,
            last_run_at INTEGER
        )""",
        # The audit export: how much of each event's count has been written out. Events are
        # exported while exported_count < count, so a failed sign-in rollup counted further
        # after it was exported is exported again with what it gained.
        "ALTER TABLE audit_events ADD COLUMN exported_count INTEGER NOT NULL DEFAULT 0",
        "CREATE INDEX audit_unexported ON audit_events(id) WHERE exported_count < count",
    ),
    (
        # Which of its token's secrets a PAT-opened page session was opened with
        # (rotation.secret_fingerprint, never the secret): a regeneration ends the sessions of
        # the secret it replaced. NULL for a password session; a PAT session from before this
        # has none and ends at its next request.
        "ALTER TABLE web_sessions ADD COLUMN token_secret TEXT",
    ),
    (
        # Rotation of organization access tokens, as of personal ones (migration 10): the
        # old secret, accepted until previous_secret_until; both NULL without a grace period.
        "ALTER TABLE org_tokens ADD COLUMN previous_secret_hash BLOB",
        "ALTER TABLE org_tokens ADD COLUMN previous_secret_until INTEGER",
    ),
    (
        # API sessions are stateless JWTs: each carries the account's session epoch, which
        # everything that ends the account's sessions (a new password, two-factor turned on or
        # off, the account disabled) moves, so the JWTs issued before stop at once.
        "ALTER TABLE users ADD COLUMN session_epoch INTEGER NOT NULL DEFAULT 0",
    ),
    (
        # The keyed hash of a token's secret revoked as leaked (POST /v2/credentials/revoke):
        # while it is still the token's secret, the token cannot be activated; regenerating
        # it gives a secret nobody has seen, and activation is allowed again.
        "ALTER TABLE tokens ADD COLUMN leaked_secret_hash BLOB",
        "ALTER TABLE org_tokens ADD COLUMN leaked_secret_hash BLOB",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def migrate(conn: sqlite3.Connection) -> int:
    """Bring the schema to SCHEMA_VERSION; each step is one transaction. Returns the old version."""
    # BEGIN IMMEDIATE takes the write lock first, so concurrent starters migrate once.
    conn.execute("BEGIN IMMEDIATE")
    try:
        current = int(conn.execute("PRAGMA user_version").fetchone()[0])
        if current > SCHEMA_VERSION:
            raise ConfigError(
                f"database schema version {current} is newer than this regauth ({SCHEMA_VERSION})"
            )
        for version in range(current, SCHEMA_VERSION):
            for statement in MIGRATIONS[version]:
                conn.execute(statement)
            conn.execute(f"PRAGMA user_version = {version + 1}")
        conn.execute("COMMIT")
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    return current


def require_current(conn: sqlite3.Connection) -> None:
    """With `[storage] migrate = false`: refuse a schema this code was not written for."""
    current = int(conn.execute("PRAGMA user_version").fetchone()[0])
    if current != SCHEMA_VERSION:
        raise ConfigError(
            f"database schema version {current}, this regauth needs {SCHEMA_VERSION}: "
            "run `regauth db migrate` (or set [storage] migrate = true)"
        )
