"""The one composition root: the store, keys and services a process needs, built once from the
config; the HTTP app and the CLI are adapters over what it builds."""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from regauth.config import Config
from regauth.domain.clock import Clock, system_clock
from regauth.errors import ConfigError
from regauth.metrics.counts import Metrics
from regauth.services.access_tokens import AccessTokenService
from regauth.services.admin_keys import AdminKeyService
from regauth.services.audit import AuditLog
from regauth.services.authentication import Authenticator
from regauth.services.decisions import Authorizer
from regauth.services.deployment import verify_hmac_secret
from regauth.services.explain import ExplainService
from regauth.services.guard import SignInGuard
from regauth.services.org_tokens import OrgTokenService
from regauth.services.organizations import OrganizationService
from regauth.services.passwords import PasswordChecker
from regauth.services.rate_limit import RateLimit
from regauth.services.repositories import RepositoryService
from regauth.services.revocation import RevocationService
from regauth.services.sessions import SessionService
from regauth.services.token_census import TokenCensus
from regauth.services.token_issuer import TokenIssuer
from regauth.services.two_factor import TwoFactorService
from regauth.services.usage import UsageRecorder
from regauth.services.users import UserService
from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import TokenSigner
from regauth.signing.keys import KeyRing, load_or_create_keyring
from regauth.store import Store, open_store

log = logging.getLogger("regauth.runtime")


@dataclass(frozen=True)
class Runtime:
    """What both adapters (the HTTP app and the CLI) stand on, so they cannot drift apart."""

    config: Config
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
    explain: ExplainService
    revocation: RevocationService
    organizations: OrganizationService
    org_tokens: OrgTokenService
    usage: UsageRecorder
    token_issuer: TokenIssuer
    # What this process counts for /metrics, and the stored credentials' gauge.
    metrics: Metrics
    census: TokenCensus

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


def load_keyring(config: Config, clock: Clock = system_clock) -> KeyRing:
    try:
        return load_or_create_keyring(
            Path(config.keys.dir),
            config.keys.algorithm,
            config.keys.kid_format,
            now=datetime.fromtimestamp(clock(), UTC),
        )
    except OSError as exc:  # unreadable, a directory in a file's place, a read-only folder
        where = Path(exc.filename).resolve() if exc.filename else Path(config.keys.dir).resolve()
        raise ConfigError(
            f"keys.dir: cannot use {where}: {exc.strerror or exc} "
            "(check the [keys] dir and its files' owner and mode)"
        ) from None


def open_runtime(config: Config, *, clock: Clock = system_clock) -> Runtime:
    keyring = load_keyring(config, clock)
    key = keyring.hmac_key
    store = open_store(config.storage)
    try:
        verify_hmac_secret(store, key, keys_dir=config.keys.dir)
    except BaseException:
        store.close()
        raise
    audit = AuditLog(store, clock=clock)
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
        config=config.auth,
        guard=SignInGuard(
            config.limits,
            clock=clock,
            table=store.failure_table(secret=key, name="throttle"),
        ),
        audit=audit,
        clock=clock,
        metrics=metrics,
    )
    usage = UsageRecorder(store)
    admin_keys = AdminKeyService(store, audit, usage, hmac_key=key, clock=clock)
    two_factor = TwoFactorService(store, audit, hmac_key=key, clock=clock)
    tokens = AccessTokenService(
        store,
        audit,
        hmac_key=key,
        clock=clock,
        limits=config.limits,
        max_lifetime_days=config.auth.max_token_lifetime_days,
    )
    return Runtime(
        config=config,
        clock=clock,
        store=store,
        keyring=keyring,
        audit=audit,
        passwords=passwords,
        authenticator=authenticator,
        users=UserService(store, audit, clock=clock),
        tokens=tokens,
        repositories=RepositoryService(store, audit, clock=clock),
        admin_keys=admin_keys,
        two_factor=two_factor,
        sessions=SessionService(
            store,
            authenticator,
            admin_keys,
            two_factor,
            audit,
            hmac_key=key,
            ttl_seconds=config.auth.session_ttl_seconds,
            clock=clock,
        ),
        explain=ExplainService(store, authenticator),
        revocation=RevocationService(
            store,
            audit,
            admin_keys,
            hmac_key=key,
            limit=RateLimit(
                clock=clock,
                calls=config.limits.revocations_per_minute,
                window_seconds=60,
                # A file of its own: in the sign-in throttle's, these calls would wake its
                # fast path (idle while nobody fails to sign in) and could evict lock-outs.
                table=store.failure_table(secret=key, name="revocations"),
            ),
        ),
        organizations=OrganizationService(store, audit, clock=clock),
        org_tokens=OrgTokenService(
            store, audit, hmac_key=key, clock=clock, per_org=config.limits.org_tokens_per_org
        ),
        usage=usage,
        token_issuer=TokenIssuer(
            store=store,
            authenticator=authenticator,
            authorizer=Authorizer(store, metrics=metrics),
            signer=BatchSigner(
                TokenSigner(keyring.active, include_x5c=config.keys.x5c),
                on_batch=metrics.sign_batches.observe,
            ),
            usage=usage,
            tokens=tokens,
            config=config.token,
            clock=clock,
        ),
        metrics=metrics,
        census=TokenCensus(store, clock=clock),
    )
