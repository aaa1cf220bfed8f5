"""Who is asking: credentials (a personal access token or a password) to a principal, or 401."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from regauth.config import AuthConfig
from regauth.domain.clock import Clock
from regauth.domain.credentials import Credentials
from regauth.domain.models import ANONYMOUS, Principal
from regauth.domain.tokens import (
    AccessToken,
    TokenKind,
    looks_like_token,
    parse_token,
    secret_matches,
)
from regauth.errors import SecondFactorRequired, TooManyRequests, Unauthorized
from regauth.services.audit import AuditLog
from regauth.services.guard import SignInAttempt, SignInGuard
from regauth.services.passwords import PasswordChecker
from regauth.store.base import Store

INCORRECT = "incorrect username or password"
SESSION_ENDED = "this sign-in session has ended: run docker login again"
ANONYMOUS_METHOD, TOKEN, SESSION_TOKEN, PASSWORD = "anonymous", "token", "session_token", "password"
_MEMO = "authenticated-token"


@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    # How the caller proved who they are: ANONYMOUS, TOKEN, SESSION_TOKEN or PASSWORD.
    method: str


class Authenticator:
    def __init__(
        self,
        store: Store,
        passwords: PasswordChecker,
        *,
        hmac_key: bytes,
        config: AuthConfig,
        guard: SignInGuard,
        audit: AuditLog,
        clock: Clock,
    ) -> None:
        self._store = store
        self.guard = guard
        self._audit = audit
        self._passwords = passwords
        self._hmac_key = hmac_key
        self._config = config
        self._clock = clock

    async def authenticate_client(
        self, credentials: Credentials | None, ip: str | None, user_agent: str | None
    ) -> Authenticated:
        """authenticate(), throttled per client and audited: what every sign-in point calls."""
        if credentials is None:
            return Authenticated(ANONYMOUS, ANONYMOUS_METHOD)
        username = credentials.username
        try:
            attempt = self.guard.begin(username, ip)  # 429 while locked out, before any work
        except TooManyRequests as exc:
            self._audit.failed_authentication(username, ip, user_agent, exc.message)
            raise
        try:
            authenticated = await self.authenticate(credentials, attempt)
        except Unauthorized as exc:
            # SecondFactorRequired: the password was right, not a guess to throttle, but
            # worth an audit line.
            if isinstance(exc, SecondFactorRequired):
                attempt.abandoned()
            else:
                attempt.failed()
            self._audit.failed_authentication(username, ip, user_agent, exc.message)
            raise
        except TooManyRequests as exc:
            attempt.abandoned()
            self._audit.failed_authentication(username, ip, user_agent, exc.message)
            raise
        except BaseException:
            attempt.abandoned()  # a cancelled or broken check counts for nothing
            raise
        attempt.succeeded()
        return authenticated

    async def authenticate(
        self, credentials: Credentials | None, attempt: SignInAttempt | None = None
    ) -> Authenticated:
        """Anonymous without credentials; wrong credentials are always a 401, never anonymous.

        With an `attempt`, a password is reserved against the sign-in throttle before it is
        hashed (tokens are checked at once and counted by the caller)."""
        if credentials is None:
            return Authenticated(ANONYMOUS, ANONYMOUS_METHOD)
        if not credentials.secret:
            raise Unauthorized(INCORRECT)
        if looks_like_token(credentials.secret):
            return self._remembered_token(credentials)
        if not credentials.username:
            raise Unauthorized(INCORRECT)
        return Authenticated(await self._password(credentials, attempt), PASSWORD)

    def _remembered_token(self, credentials: Credentials) -> Authenticated:
        """A token verified once is not verified again until data changes or it expires.

        The store's memo is emptied by any commit in any process, so a deactivated, deleted
        or evicted token, or a disabled owner, is refused on the next request. It is keyed by
        a SHA-256 of the secret (190 random bits: a hash is as good as a key here), never the
        secret itself; only successes are kept.
        """
        memo = self._store.memo()
        key = (_MEMO, credentials.username, hashlib.sha256(credentials.secret.encode()).digest())
        remembered = memo.get(key)
        if remembered is not None:
            authenticated, expires_at = remembered
            if expires_at is None or self._clock() < expires_at:
                return authenticated  # type: ignore[no-any-return]
        authenticated, expires_at = self._verify_token(credentials)
        memo[key] = (authenticated, expires_at)
        return authenticated

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
        if (
            record is None
            or record.generated_by != generated_by
            or not secret_matches(self._hmac_key, token.secret, record.secret_hash)
            or not _names_owner(credentials.username, record.owner_name, generated_by)
        ):
            raise Unauthorized(INCORRECT)
        label = "personal access token" if generated_by == "manual" else "session token"
        # The caller holds the real secret from here on, so the precise reason may be told.
        if record.owner_disabled:
            raise Unauthorized("account is disabled")
        if not record.active:
            raise Unauthorized(f"{label} is inactive")
        if record.expires_at is not None and self._clock() >= record.expires_at:
            raise Unauthorized(f"{label} has expired")
        principal = Principal(
            name=record.owner_name,
            is_admin=record.owner_is_admin,
            token_id=record.token_id,
            access=record.access,
        )
        return principal, record.expires_at

    def _org_token(
        self, credentials: Credentials, token: AccessToken
    ) -> tuple[Principal, int | None]:
        record = self._store.get_org_token(token.public_id)
        if (
            record is None
            or not secret_matches(self._hmac_key, token.secret, record.secret_hash)
            or credentials.username != record.org  # docker login -u <org>
        ):
            raise Unauthorized(INCORRECT)
        if not record.active:
            raise Unauthorized("organization access token is inactive")
        if record.expired(self._clock()):
            raise Unauthorized("organization access token has expired")
        principal = Principal(
            name=record.org,
            token_id=record.id,
            org_token_resources=record.resources,
            public_read=record.public_read,
        )
        return principal, record.expires_at

    async def _password(self, credentials: Credentials, attempt: SignInAttempt | None) -> Principal:
        if not self._config.password_logins:
            raise Unauthorized("password logins are disabled: use a personal access token")
        username, password = credentials.username, credentials.secret
        user = self._store.get_user(username)
        stored = user.password_hash if user is not None else None
        if not self._passwords.remembered(username, password, stored):
            # Counted before the hash, so that simultaneous guesses cannot all pass the
            # throttle's count before the first of them has failed.
            if attempt is not None:
                attempt.reserve()
            source = attempt.ip if attempt is not None else None
            if not await self._passwords.verify(username, password, stored, source=source):
                raise Unauthorized(INCORRECT)
        assert user is not None  # no stored hash is never a match
        if user.disabled:
            raise Unauthorized("account is disabled")
        if user.totp_enabled:
            raise SecondFactorRequired(user.id)
        return Principal(name=user.name, is_admin=user.is_admin)


def _names_owner(username: str, owner: str, generated_by: str) -> bool:
    # Docker's identity token (a session token) comes with an empty username from
    # containerd and docker; a personal access token must always name its owner.
    if not username and generated_by == "auto":
        return True
    return username == owner
