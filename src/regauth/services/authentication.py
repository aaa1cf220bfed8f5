"""Who is asking: credentials (a token or a password) to a principal, or 401."""

from __future__ import annotations

import asyncio
import functools
import hashlib
from collections.abc import Callable
from dataclasses import dataclass
from typing import ParamSpec, Protocol, TypeVar

from regauth.config import Config, LiveConfig
from regauth.domain.clock import Clock
from regauth.domain.credentials import Credentials
from regauth.domain.models import ANONYMOUS, Principal, User
from regauth.domain.networks import allows, not_allowed_from
from regauth.domain.tokens import (
    AccessToken,
    TokenKind,
    looks_like_token,
    parse_token,
)
from regauth.errors import (
    RegauthError,
    SecondFactorRequired,
    TooManyRequests,
    Unauthorized,
)
from regauth.metrics.counts import Metrics
from regauth.services.audit import AuditLog
from regauth.services.cache import VersionedCache
from regauth.services.directory_sign_in import Claim, DirectorySignIn
from regauth.services.guard import SignInAttempt, SignInGuard
from regauth.services.passwords import PasswordChecker
from regauth.services.refusals import (
    DISABLED,
    INCORRECT,
    PASSWORD_LOGINS_DISABLED,
    SESSION_ENDED,
    SSO_ENFORCED,
    failure_reason,
    incorrect,
    org_token_refusal,
    token_refusal,
)
from regauth.services.rotation import earliest, match_secret
from regauth.store.base import AdminKeyStore, Database, OrgTokenStore, TokenStore, UserStore

ANONYMOUS_METHOD, TOKEN, SESSION_TOKEN, PASSWORD = "anonymous", "token", "session_token", "password"


@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    # How the caller proved who they are: ANONYMOUS, TOKEN, SESSION_TOKEN or PASSWORD.
    method: str


P = ParamSpec("P")
T = TypeVar("T")


class AuthStore(Database, UserStore, TokenStore, OrgTokenStore, AdminKeyStore, Protocol):
    """What authentication reads: accounts and every kind of token."""


class Authenticator:
    def __init__(
        self,
        store: AuthStore,
        passwords: PasswordChecker,
        *,
        hmac_key: bytes,
        settings: LiveConfig,
        guard: SignInGuard,
        audit: AuditLog,
        clock: Clock,
        metrics: Metrics | None = None,
        directory: DirectorySignIn | None = None,
    ) -> None:
        self._store = store
        self._directory = directory
        self._metrics = metrics or Metrics()
        # (username, SHA-256 of the secret) -> a verified token's principal and expiry.
        self._verified: VersionedCache[tuple[str, bytes], tuple[Authenticated, int | None]] = (
            VersionedCache(store, stats=self._metrics.cache("token_verification"))
        )
        # username -> the configuration it was read under, the account and who checks its
        # password: a remembered password costs no thread and no query, as a token does.
        self._routes: VersionedCache[str, tuple[Config, User | None, Claim | None]] = (
            VersionedCache(store)
        )
        self.guard = guard
        self._audit = audit
        self._passwords = passwords
        self._hmac_key = hmac_key
        self._settings = settings
        self._clock = clock
        self._releases: set[asyncio.Future[None]] = set()  # kept referenced until done
        self._verifying: dict[
            tuple[str, bytes], asyncio.Future[tuple[Authenticated, int | None]]
        ] = {}

    async def authenticate_client(
        self, credentials: Credentials | None, ip: str | None, user_agent: str | None
    ) -> Authenticated:
        """authenticate(), throttled per client and audited: what every sign-in point calls."""
        if credentials is None:
            return Authenticated(ANONYMOUS, ANONYMOUS_METHOD)
        username = credentials.username
        try:
            # 429 while locked out, before any work (in memory, unless a key must be read)
            if self.guard.answers_here(username, ip):
                attempt = self.guard.begin(username, ip)
            else:
                attempt = await self._throttled(self.guard.begin, username, ip)
        except TooManyRequests as exc:
            self._failed(username, ip, user_agent, exc)
            raise
        try:
            authenticated = await self.authenticate(credentials, attempt, user_agent)
            _check_network(authenticated.principal, ip)
        except Unauthorized as exc:
            # SecondFactorRequired: the password was right, not a guess to throttle, but
            # worth an audit line; nor is a password single sign-on refuses unchecked.
            if isinstance(exc, SecondFactorRequired) or exc.message == SSO_ENFORCED:
                await self._outcome(attempt, attempt.abandoned)
            else:
                await self._throttled(attempt.failed)
            self._failed(username, ip, user_agent, exc)
            raise
        except TooManyRequests as exc:
            await self._outcome(attempt, attempt.abandoned)
            self._failed(username, ip, user_agent, exc)
            raise
        except BaseException:
            # A cancelled or broken check counts for nothing. A cancelled task cannot wait
            # for the database: the release runs on its own (were it lost, a reservation
            # expires after RESERVATION_SECONDS).
            if not self.guard.remote:
                attempt.abandoned()
            elif attempt.reserved:
                self._releases.add(
                    task := asyncio.ensure_future(self._store.run(attempt.abandoned))
                )
                task.add_done_callback(self._releases.discard)
            raise
        await self._outcome(attempt, attempt.succeeded)
        return authenticated

    def _failed(
        self, username: str, ip: str | None, user_agent: str | None, exc: RegauthError
    ) -> None:
        self._metrics.signin_failures[failure_reason(exc)] += 1
        names_an_account = isinstance(exc, Unauthorized) and exc.names_an_account
        self._audit.failed_authentication(
            username, ip, user_agent, exc.message, names_an_account=names_an_account
        )

    async def _throttled(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> T:
        """A throttle call that writes: in the store's threads when the counts are in the
        database (PostgreSQL), else here (a mapped file)."""
        if self.guard.remote:
            return await self._store.run(fn, *args, **kwargs)
        return fn(*args, **kwargs)

    async def _outcome(self, attempt: SignInAttempt, end: Callable[[], None]) -> None:
        """A reserved attempt's outcome writes; an unreserved one's only reads, here when
        the answer is in memory (a successful sign-in pays nothing for the throttle)."""
        if attempt.reserved or not attempt.answers_here():
            await self._throttled(end)
        else:
            end()

    async def authenticate(
        self,
        credentials: Credentials | None,
        attempt: SignInAttempt | None = None,
        user_agent: str | None = None,
    ) -> Authenticated:
        """Anonymous without credentials; wrong credentials are always a 401, never anonymous.

        With an `attempt`, a password is reserved against the sign-in throttle before it is
        hashed (tokens are checked at once and counted by the caller)."""
        if credentials is None:
            return Authenticated(ANONYMOUS, ANONYMOUS_METHOD)
        if not credentials.secret:
            raise Unauthorized(INCORRECT)
        if looks_like_token(credentials.secret):
            return await self._remembered_token(credentials)
        if not credentials.username:
            raise Unauthorized(INCORRECT)
        return Authenticated(await self._password(credentials, attempt, user_agent), PASSWORD)

    async def _remembered_token(self, credentials: Credentials) -> Authenticated:
        """A token verified once is not verified again until data changes or it expires.

        The cache is emptied by any change in any process (or replica), so a deactivated,
        deleted or evicted token, or a disabled owner, is refused on the next request; a hit
        costs no database call and no thread. It is keyed by a SHA-256 of the secret (190
        random bits: a hash is as good as a key here), never the secret itself; only
        successes are kept.
        """
        key = (credentials.username, hashlib.sha256(credentials.secret.encode()).digest())
        remembered = self._verified.get(key)
        if remembered is not None:
            authenticated, expires_at = remembered
            if expires_at is None or self._clock() < expires_at:
                return authenticated
        # One look-up per token at a time: after a change empties the cache, the requests of a
        # busy pipeline (32 connections with the same PAT) wait for the first one's.
        pending = self._verifying.get(key)
        if pending is None:
            pending = asyncio.ensure_future(self._verify_and_keep(credentials, key))
            self._verifying[key] = pending
            pending.add_done_callback(lambda _: self._verifying.pop(key, None))
        authenticated, _ = await asyncio.shield(pending)
        return authenticated

    async def _verify_and_keep(
        self, credentials: Credentials, key: tuple[str, bytes]
    ) -> tuple[Authenticated, int | None]:
        stamp = self._verified.version()
        verified = await self._store.run(self._verify_token, credentials)
        self._verified.put(key, verified, stamp, row=_row(verified[0].principal))
        return verified

    def _verify_token(self, credentials: Credentials) -> tuple[Authenticated, int | None]:
        """The token's principal and expiry, or 401 (MalformedToken before any lookup)."""
        token = parse_token(credentials.secret)
        if token.kind is TokenKind.SESSION:
            principal, expires_at = self._token(credentials, token, "auto")
            return Authenticated(principal, SESSION_TOKEN), expires_at
        if token.kind is TokenKind.PERSONAL:
            principal, expires_at = self._token(credentials, token, "manual")
            return Authenticated(principal, TOKEN), expires_at
        if token.kind is TokenKind.ORGANIZATION:
            principal, expires_at = self._org_token(credentials, token)
            return Authenticated(principal, TOKEN), expires_at
        raise Unauthorized(INCORRECT)

    def _token(
        self, credentials: Credentials, token: AccessToken, generated_by: str
    ) -> tuple[Principal, int | None]:
        record = self._store.find_token_for_auth(token.public_id)
        if record is None and generated_by == "auto":
            # A well-formed session token that is gone (evicted, deleted, password changed):
            # the user typed no password, so say what to do rather than "incorrect password".
            raise Unauthorized(SESSION_ENDED)
        # A regenerated token's old secret matches until its grace period ends (rotation.py).
        match = (
            match_secret(self._hmac_key, token.secret, record, self._clock()) if record else None
        )
        if (
            record is None
            or record.generated_by != generated_by
            or match is None
            or not _names_owner(credentials.username, record.owner_name, generated_by)
        ):
            raise incorrect(credentials.username == record.owner_name if record else False)
        # The caller holds the real secret from here on, so the precise reason may be told.
        refusal = token_refusal(record, self._clock())
        if refusal is not None:
            raise Unauthorized(refusal).of_an_account()
        # Remembered (the verified-token cache) no longer than the old secret may be used.
        return Principal.of_token(record), earliest(record.expires_at, match.until)

    def _org_token(
        self, credentials: Credentials, token: AccessToken
    ) -> tuple[Principal, int | None]:
        record = self._store.get_org_token(token.public_id)
        match = (
            match_secret(self._hmac_key, token.secret, record, self._clock()) if record else None
        )
        if (
            record is None
            or match is None
            or credentials.username != record.org  # docker login -u <org>
        ):
            raise incorrect(record is not None and credentials.username == record.org)
        refusal = org_token_refusal(record, self._clock())
        if refusal is not None:
            raise Unauthorized(refusal).of_an_account()
        return Principal.of_org_token(record), earliest(record.expires_at, match.until)

    async def _password(
        self, credentials: Credentials, attempt: SignInAttempt | None, user_agent: str | None
    ) -> Principal:
        if not self._settings.current.auth.password_logins:
            raise Unauthorized(PASSWORD_LOGINS_DISABLED)
        username, password = credentials.username, credentials.secret
        user, claim = await self._route(username)
        if claim is not None:
            assert self._directory is not None
            ip = attempt.ip if attempt is not None else None
            reserve = functools.partial(self._reserve, attempt)
            user = await self._directory.check(credentials, user, claim, reserve, ip, user_agent)
        elif not self._passwords.remembered(username, password, stored := _hash_of(user)):
            # Counted before the hash, so that simultaneous guesses cannot all pass the
            # throttle's count before the first of them has failed (the same password at
            # once waits for its one check, and is not another guess).
            source = attempt.ip if attempt is not None else None
            reserve = functools.partial(self._reserve, attempt)
            if not await self._passwords.verify(
                username, password, stored, source=source, before_check=reserve
            ):
                raise incorrect(user is not None)
        assert user is not None  # no stored hash is never a match
        if user.disabled:
            raise Unauthorized(DISABLED).of_an_account()
        if user.totp_enabled:
            raise SecondFactorRequired(user.id).of_an_account()
        return Principal.of_user(user)

    async def _route(self, username: str) -> tuple[User | None, Claim | None]:
        """_password_route, remembered until data changes (a password, a link, a disabled
        account: any change empties the cache) or a reload replaces the configuration."""
        config = self._settings.current
        remembered = self._routes.get(username)
        if remembered is not None and remembered[0] is config:
            return remembered[1], remembered[2]
        stamp = self._routes.version()
        user, claim = await self._store.run(self._password_route, username)
        self._routes.put(username, (config, user, claim), stamp)
        return user, claim

    def _password_route(self, username: str) -> tuple[User | None, Claim | None]:
        """Runs in a store thread: the account, and whether the directory checks its
        password (a claim) or regauth does (None)."""
        user = self._store.get_user(username)
        enforced = self._sso_enforced()
        if user is not None and user.linked and enforced:
            raise Unauthorized(SSO_ENFORCED).of_an_account()
        # With single sign-on enforced no password goes to the directory either.
        if self._directory is None or enforced:
            return user, None
        return user, self._directory.claim(user)

    async def _reserve(self, attempt: SignInAttempt | None) -> None:
        # Counted before a slow check, as before a hash.
        if attempt is not None:
            await self._throttled(attempt.reserve)

    def _sso_enforced(self) -> bool:
        """[oidc] enforce: accounts linked to an identity provider sign in with tokens only."""
        return self._settings.current.oidc.enforce


def _hash_of(user: User | None) -> str | None:
    return user.password_hash if user is not None else None


def _check_network(principal: Principal, ip: str | None) -> None:
    """A network-bound token used from elsewhere: 401. Per request, after the verified-token
    cache (which holds the principal, not where it was used from), on networks parsed when
    the token was verified; a token without a list pays one test."""
    if principal.networks is not None and not allows(principal.networks, ip):
        raise Unauthorized(not_allowed_from(ip)).of_an_account()


def _row(principal: Principal) -> str | None:
    """The one row a verified token's principal derives from beyond its owner's account, for
    the cache: a personal or session token's (an organization token's has more rows)."""
    if principal.token_id is None or principal.is_org_token:
        return None
    return f"tokens:{principal.token_id}"


def _names_owner(username: str, owner: str, generated_by: str) -> bool:
    # Docker's identity token (a session token) comes with an empty username from
    # containerd and docker; a personal access token must always name its owner.
    if not username and generated_by == "auto":
        return True
    return username == owner
