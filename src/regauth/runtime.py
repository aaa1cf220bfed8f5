"""The one composition root: the store, keys and services a process needs, built once from the
config; the HTTP app and the CLI are adapters over what it builds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from regauth.config import Config, LiveConfig
from regauth.domain.clock import Clock, system_clock
from regauth.errors import ConfigError
from regauth.metrics.counts import Metrics
from regauth.services.access_tokens import AccessTokenService
from regauth.services.admin_keys import AdminKeyService
from regauth.services.audit import AuditLog
from regauth.services.audit_export import AuditExporter
from regauth.services.authentication import Authenticator
from regauth.services.decisions import Authorizer
from regauth.services.deployment import verify_hmac_secret
from regauth.services.directory_sign_in import DirectorySignIn
from regauth.services.expiry import ExpiryNotices
from regauth.services.explain import ExplainService
from regauth.services.guard import SignInGuard
from regauth.services.housekeeping import Housekeeping, Job
from regauth.services.notifications import Notifier
from regauth.services.oidc_sign_in import OidcSignIn
from regauth.services.org_tokens import OrgTokenService
from regauth.services.organizations import OrganizationService
from regauth.services.passwords import PasswordChecker
from regauth.services.provisioning import Provisioning
from regauth.services.rate_limit import RateLimit
from regauth.services.repositories import RepositoryService
from regauth.services.revocation import RevocationService
from regauth.services.rotation import RotationService
from regauth.services.scim.groups import ScimGroups
from regauth.services.scim.service import Scim
from regauth.services.scim.users import ScimUsers
from regauth.services.sessions import SessionService
from regauth.services.staleness import StalenessPolicy
from regauth.services.token_census import TokenCensus
from regauth.services.token_issuer import TokenIssuer
from regauth.services.two_factor import TwoFactorService
from regauth.services.usage import UsageRecorder
from regauth.services.users import UserService
from regauth.services.web_sessions import WebSessionService
from regauth.services.webhooks import WebhookDelivery
from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import TokenSigner
from regauth.signing.keys import (
    HMAC_FILE,
    KEY_FILE,
    KeyRing,
    SigningKey,
    load_or_create_keyring,
    unpublished,
)
from regauth.signing.reloading import KeyWatcher
from regauth.sso.oidc import OidcClient, client_secret
from regauth.store import Store, open_store

log = logging.getLogger("regauth.runtime")


@dataclass(frozen=True)
class Runtime:
    """What both adapters (the HTTP app and the CLI) stand on, so they cannot drift apart."""

    # The config in force: a reload (SIGHUP) swaps what it holds; `config` reads it.
    settings: LiveConfig
    clock: Clock
    store: Store
    keyring: KeyRing
    audit: AuditLog
    passwords: PasswordChecker
    authenticator: Authenticator
    users: UserService
    tokens: AccessTokenService
    repositories: RepositoryService
    admin_keys: AdminKeyService
    two_factor: TwoFactorService
    sessions: SessionService
    provisioning: Provisioning
    scim: Scim
    web_sessions: WebSessionService
    explain: ExplainService
    revocation: RevocationService
    organizations: OrganizationService
    org_tokens: OrgTokenService
    usage: UsageRecorder
    token_issuer: TokenIssuer
    # Started by a serving app: the signing key follows `regauth keys activate` (reloading.py).
    key_watcher: KeyWatcher
    # What this process counts for /metrics, and the stored credentials' gauge.
    metrics: Metrics
    census: TokenCensus
    # Single sign-on with the [oidc] provider (the web page's "Sign in with ...").
    oidc_sign_in: OidcSignIn
    # Credential hygiene: notifications and their webhook, expiry notices, the staleness
    # policy, rotation, the audit export, and the periodic work that runs the policies.
    notifier: Notifier
    webhooks: WebhookDelivery
    expiry: ExpiryNotices
    staleness: StalenessPolicy
    rotation: RotationService
    audit_export: AuditExporter
    housekeeping: Housekeeping

    @property
    def config(self) -> Config:
        return self.settings.current

    def flushers(self) -> list[Callable[[], int]]:
        """What a serving process writes in batches (last use of tokens and admin keys;
        failed sign-ins and audit events a failed write left behind), at most
        `usage_flush_seconds` late and once more at shutdown."""
        return [self.usage.flush, self.audit.flush]

    def close(self) -> None:
        # What a failed write left pending is written now: a CLI command has no periodic
        # flush, and a server's last one may have failed. Past this it would be lost.
        for flush in self.flushers():
            try:
                flush()
            except Exception:
                log.exception("flush_failed_at_close")
        self.passwords.close()
        self.store.close()


_ELSEWHERE = "(use --config or REGAUTH_CONFIG)"


class MissingData(ConfigError):
    """The configured database or keys are not there (exit code 2, as a config error)."""


def require_data(config: Config, *, keys: bool = True) -> None:
    """Refuses a deployment's data that is not there. The default paths are relative to the
    current directory, so a command run from another one would otherwise make a new empty
    database and new signing keys and work on those: only `serve` and `init` create them."""
    if not config.storage.url:  # PostgreSQL: the database is the server's to refuse
        database = Path(config.storage.path).resolve()
        if not database.is_file():
            raise MissingData(f"no regauth database at {database} {_ELSEWHERE}")
    if not keys:
        return
    folder = Path(config.keys.dir).resolve()
    if not folder.is_dir():
        raise MissingData(f"no regauth keys folder at {folder} {_ELSEWHERE}")
    for name, what in ((KEY_FILE, "signing key"), (HMAC_FILE, "token-hash secret")):
        if not (folder / name).is_file():
            raise MissingData(f"no regauth {what} at {folder / name} {_ELSEWHERE}")


def load_keyring(
    config: Config, clock: Clock = system_clock, *, check_algorithm: bool = True
) -> KeyRing:
    try:
        return load_or_create_keyring(
            Path(config.keys.dir),
            config.keys.algorithm,
            config.keys.kid_format,
            now=datetime.fromtimestamp(clock(), UTC),
            check_algorithm=check_algorithm,
        )
    except OSError as exc:  # unreadable, a directory in a file's place, a read-only folder
        where = Path(exc.filename).resolve() if exc.filename else Path(config.keys.dir).resolve()
        raise ConfigError(
            f"keys.dir: cannot use {where}: {exc.strerror or exc} "
            "(check the [keys] dir and its files' owner and mode)"
        ) from None


def open_runtime(
    config: Config,
    *,
    clock: Clock = system_clock,
    serving: bool = False,
    check_algorithm: bool = True,
) -> Runtime:
    """`serving`: refuse to start signing with a key the published files do not trust.
    `check_algorithm=False` for a worker: after `regauth keys activate` the files, not the
    configuration its supervisor started with, say which key signs."""
    settings = LiveConfig(config)
    keyring = load_keyring(config, clock, check_algorithm=check_algorithm)
    keys_dir = Path(config.keys.dir)

    def not_published(key: SigningKey) -> list[str]:
        return unpublished(keys_dir, key, x5c=config.keys.x5c)

    if serving and (problems := not_published(keyring.active)):
        raise ConfigError(
            "the registry would refuse this key's tokens: "
            + "; ".join(problems)
            + ". Run `regauth keys publish`, reload the registry, then start regauth"
        )
    if config.oidc.enabled:
        client_secret(config.oidc)  # an unreadable secret file stops start-up, not a sign-in
    key = keyring.hmac_key
    store = open_store(config.storage)
    try:
        verify_hmac_secret(store, key, keys_dir=config.keys.dir)
        # [ldap]'s files are read now: an unreadable one stops start-up, naming its key.
        directory = None
        if config.ldap.url:
            from regauth.sso.ldap import Directory  # ldap3 only with [ldap]

            directory = Directory(config.ldap)
    except BaseException:
        store.close()
        raise
    audit = AuditLog(store, clock=clock)
    provisioning = Provisioning(store, audit, settings=settings, clock=clock)
    metrics = Metrics(enabled=config.metrics.enabled)
    passwords = PasswordChecker(
        key=key,
        cache_seconds=config.auth.password_cache_seconds,
        concurrency=config.auth.password_check_concurrency,
        clock=clock,
        metrics=metrics,
    )
    authenticator = Authenticator(
        store,
        passwords,
        hmac_key=key,
        settings=settings,
        guard=SignInGuard(
            settings,
            clock=clock,
            table=store.failure_table(secret=key, name="throttle"),
        ),
        audit=audit,
        clock=clock,
        metrics=metrics,
        directory=DirectorySignIn(settings, store, passwords, provisioning, directory),
    )
    usage = UsageRecorder(store)
    admin_keys = AdminKeyService(
        store, audit, usage, hmac_key=key, clock=clock, guard=authenticator.guard
    )
    two_factor = TwoFactorService(store, audit, hmac_key=key, clock=clock)
    tokens = AccessTokenService(
        store,
        audit,
        hmac_key=key,
        clock=clock,
        settings=settings,
    )
    signer = BatchSigner(
        TokenSigner(keyring.active, include_x5c=config.keys.x5c),
        on_batch=metrics.sign_batches.observe,
    )
    key_watcher = KeyWatcher(
        keys_dir,
        signer,
        keyring.active,
        load=lambda: load_keyring(config, clock, check_algorithm=False),
        unpublished=not_published,
        make_signer=lambda active: TokenSigner(active, include_x5c=config.keys.x5c),
    )
    sessions = SessionService(
        store,
        authenticator,
        admin_keys,
        two_factor,
        audit,
        hmac_key=key,
        settings=settings,
        clock=clock,
    )
    users = UserService(store, audit, clock=clock)
    notifier = Notifier(store, audit, settings=settings, clock=clock)
    expiry = ExpiryNotices(store, notifier, settings=settings, clock=clock)
    staleness = StalenessPolicy(store, audit, notifier, settings=settings, clock=clock)
    return Runtime(
        settings=settings,
        clock=clock,
        store=store,
        keyring=keyring,
        audit=audit,
        passwords=passwords,
        authenticator=authenticator,
        users=users,
        tokens=tokens,
        repositories=RepositoryService(store, audit, clock=clock),
        admin_keys=admin_keys,
        two_factor=two_factor,
        sessions=sessions,
        provisioning=provisioning,
        scim=Scim(
            users=ScimUsers(store, users, provisioning, audit, settings=settings, clock=clock),
            groups=ScimGroups(store, provisioning, audit, settings=settings, clock=clock),
            admin_keys=admin_keys,
        ),
        web_sessions=WebSessionService(
            store,
            sessions,
            hmac_key=key,
            settings=settings,
            clock=clock,
        ),
        explain=ExplainService(store, settings=settings, clock=clock),
        revocation=RevocationService(
            store,
            audit,
            admin_keys,
            hmac_key=key,
            limit=RateLimit(
                clock=clock,
                calls=lambda: settings.current.limits.revocations_per_minute,
                window_seconds=60,
                # A file of its own: in the sign-in throttle's, these calls would wake its
                # fast path (idle while nobody fails to sign in) and could evict lock-outs.
                table=store.failure_table(secret=key, name="revocations"),
            ),
            notifier=notifier,
        ),
        organizations=OrganizationService(store, audit, clock=clock),
        org_tokens=OrgTokenService(store, audit, hmac_key=key, clock=clock, settings=settings),
        usage=usage,
        token_issuer=TokenIssuer(
            store=store,
            authenticator=authenticator,
            authorizer=Authorizer(store, metrics=metrics),
            signer=signer,
            usage=usage,
            tokens=tokens,
            settings=settings,
            clock=clock,
        ),
        key_watcher=key_watcher,
        metrics=metrics,
        census=TokenCensus(store, clock=clock),
        oidc_sign_in=OidcSignIn(
            OidcClient(settings, clock=clock), provisioning, sessions, audit, settings=settings
        ),
        notifier=notifier,
        webhooks=WebhookDelivery(store, settings=settings, clock=clock),
        expiry=expiry,
        staleness=staleness,
        rotation=RotationService(store, audit, hmac_key=key, clock=clock),
        audit_export=AuditExporter(store, settings=settings),
        housekeeping=Housekeeping(
            store,
            [
                Job(
                    "staleness",
                    3600,
                    lambda: str(staleness.sweep()),
                    wanted=lambda: bool(staleness.unused_days),
                ),
                Job("expiry_notices", 3600, expiry.sweep, wanted=lambda: notifier.enabled),
                Job("notifications_purge", 86400, notifier.purge, wanted=lambda: notifier.enabled),
            ],
            clock=clock,
        ),
    )
