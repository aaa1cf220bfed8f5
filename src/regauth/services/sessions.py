"""API sessions: bearer tokens for the account and admin APIs, from a login or an admin API key."""

from __future__ import annotations

import hashlib
import hmac
from typing import Any, Protocol

from regauth.config import LiveConfig
from regauth.domain.callers import ADMIN_KEY, PASSWORD, PAT, ApiCaller
from regauth.domain.clock import Clock
from regauth.domain.credentials import Credentials
from regauth.domain.models import Actor, TokenAuthRecord, User
from regauth.domain.networks import allows, not_allowed_from
from regauth.domain.tokens import TokenKind, looks_like_token, parse_token
from regauth.errors import SecondFactorRequired, Unauthorized
from regauth.services.admin_keys import AdminKeyService
from regauth.services.audit import AuditLog
from regauth.services.authentication import SESSION_TOKEN, Authenticator
from regauth.services.refusals import token_refusal
from regauth.services.rotation import presented_fingerprint, still_accepted
from regauth.services.two_factor import TwoFactorService
from regauth.store.base import Database, TokenStore, UserStore

_ISSUER = "regauth-api"
_ALGORITHM = "HS256"
_SECOND_FACTOR = "second_factor"  # a sign-in ticket, never a session
_TICKET_SECONDS = 300
SESSION_TOKEN_REFUSED = (
    "a session token signs in only at /token: sign in with the password or a personal access token"
)


class SessionStore(Database, UserStore, TokenStore, Protocol):
    """The account behind a session, and the PAT a read-only session was opened with."""


class SessionService:
    def __init__(
        self,
        store: SessionStore,
        authenticator: Authenticator,
        admin_keys: AdminKeyService,
        two_factor: TwoFactorService,
        audit: AuditLog,
        *,
        hmac_key: bytes,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._authenticator = authenticator
        self._admin_keys = admin_keys
        self._two_factor = two_factor
        self._audit = audit
        # A key of its own, derived from the server secret: session JWTs are never registry tokens.
        self._key = hmac.digest(hmac_key, b"regauth api sessions", hashlib.sha256)
        self._token_key = hmac_key  # the tokens' own: which secret opened a session
        self._settings = settings
        self._clock = clock

    async def login(self, credentials: Credentials, ip: str | None, user_agent: str | None) -> str:
        try:
            authenticated = await self._authenticator.authenticate_client(
                credentials, ip, user_agent
            )
        except SecondFactorRequired as exc:
            # Docker Hub's two-step sign-in: a short-lived ticket for /v2/users/2fa-login.
            # In the account's session epoch: a new password or a disabled account voids it.
            owner = await self._store.run(self._store.get_user_by_id, exc.user_id)
            if owner is None:  # deleted between the two reads
                raise Unauthorized() from None
            ticket = self._jwt(owner, _SECOND_FACTOR, None, ttl=_TICKET_SECONDS)
            raise Unauthorized(
                "two-factor authentication required: send the code to /v2/users/2fa-login",
                login_2fa_token=ticket,
            ) from None
        if authenticated.method == SESSION_TOKEN:
            # docker's identity token is for /token only: a sign-in here is a password or a
            # PAT, as on Docker Hub (it opened a read-only session, with an empty username too).
            raise Unauthorized(SESSION_TOKEN_REFUSED)
        principal = authenticated.principal
        user = await self._store.run(self._store.get_user, principal.name)
        if user is None:  # deleted between the two reads
            raise Unauthorized()
        method, secret = PASSWORD, None
        if principal.token_id is not None:
            # Which of the token's secrets opened it: the session ends when that one stops.
            method = PAT
            secret = await self._store.run(self._presented, principal.token_id, credentials)
        return self._jwt(user, method, principal.token_id, secret)

    def _presented(self, token_id: str, credentials: Credentials) -> str:
        record = self._store.find_token_for_auth(token_id)
        presented = None
        if record is not None:
            secret = parse_token(credentials.secret).secret
            presented = presented_fingerprint(self._token_key, secret, record, self._clock())
        if presented is None:  # regenerated or deleted since it was checked
            raise Unauthorized("the personal access token of this session is no longer valid")
        return presented

    def complete_second_factor(
        self, ticket: str, code: str, ip: str | None, user_agent: str | None
    ) -> str:
        claims = self._decode(ticket, "the sign-in ticket is invalid or expired: sign in again")
        user = self._store.get_user(str(claims["sub"]))
        if (
            claims.get("amr") != _SECOND_FACTOR
            or user is None
            or user.id != claims.get("uid")
            or user.disabled
            or claims.get("sep", 0) != user.session_epoch
        ):
            raise Unauthorized("the sign-in ticket is invalid or expired: sign in again")
        self._authenticator.guard.check(user.name, ip)
        if not self._two_factor.verify(user, code):
            self._authenticator.guard.failed(user.name, ip)
            self._audit.failed_authentication(
                user.name, ip, user_agent, "wrong two-factor code", names_an_account=True
            )
            raise Unauthorized("the two-factor code is not valid")
        self._authenticator.guard.succeeded(user.name, ip)
        return self._jwt(user, PASSWORD, None)

    def external_session(self, user: User) -> str:
        """A session for an account an identity provider vouched for (single sign-on): no
        password was checked here; the provider's sign-in stands for it, second factor too."""
        return self._jwt(user, PASSWORD, None)

    def _jwt(
        self,
        user: User,
        method: str,
        token_id: str | None,
        token_secret: str | None = None,
        *,
        ttl: int | None = None,
    ) -> str:
        now = int(self._clock())
        if ttl is None:
            ttl = self._settings.current.auth.session_ttl_seconds
        claims: dict[str, Any] = {
            "iss": _ISSUER,
            "sub": user.name,
            "uid": user.id,
            "amr": method,
            "tid": token_id,
            "iat": now,
            "exp": now + ttl,
            # The account's session epoch: the session ends when it moves (store.end_sessions).
            "sep": user.session_epoch,
        }
        if token_secret is not None:
            claims["sfp"] = token_secret  # rotation.secret_fingerprint: no secret in it
        return _encode(claims, self._key)

    def _decode(self, value: str, message: str) -> dict[str, Any]:
        import jwt

        try:
            claims: dict[str, Any] = jwt.decode(
                value,
                self._key,
                algorithms=[_ALGORITHM],
                issuer=_ISSUER,
                options={
                    "require": ["exp", "iat", "sub"],
                    "verify_exp": False,
                    "verify_iat": False,
                },
            )
        except jwt.PyJWTError:
            raise Unauthorized(message) from None
        # Expiry is checked against the injected clock, not the wall clock.
        if int(claims["exp"]) <= self._clock():
            raise Unauthorized(message)
        return claims

    def authenticate(
        self, authorization: str | None, ip: str | None, user_agent: str | None
    ) -> ApiCaller:
        scheme, _, value = (authorization or "").strip().partition(" ")
        # Docker Hub documents "Bearer"; its older docs and tools send "JWT".
        if scheme.lower() not in ("bearer", "jwt") or not value.strip():
            raise Unauthorized("authentication required: send Authorization: Bearer <token>")
        value = value.strip()
        if looks_like_token(value):
            return self._admin_key(value, ip, user_agent)
        return self._session(value, ip, user_agent)

    def _admin_key(self, value: str, ip: str | None, user_agent: str | None) -> ApiCaller:
        if not value.startswith(TokenKind.ADMIN_KEY.prefix):
            raise Unauthorized("personal access tokens are not accepted here: sign in first")
        key = self._admin_keys.authenticate(value, ip, user_agent=user_agent)
        actor = Actor(name=f"admin-key:{key.id}", kind="admin_key", ip=ip, user_agent=user_agent)
        return ApiCaller(method=ADMIN_KEY, actor=actor)

    def _session(self, value: str, ip: str | None, user_agent: str | None) -> ApiCaller:
        claims = self._decode(value, "session is invalid or expired: sign in again")
        if claims.get("amr") not in (PASSWORD, PAT):
            raise Unauthorized("session is invalid or expired: sign in again")
        token_id, secret = claims.get("tid"), claims.get("sfp")
        return self.caller(
            str(claims["sub"]),
            claims.get("uid"),
            PAT if claims.get("amr") == PAT else PASSWORD,
            None if token_id is None else str(token_id),
            ip,
            user_agent,
            token_secret=secret if isinstance(secret, str) else None,
            # Sessions from before epochs were carried are in the first one (0).
            epoch=claims.get("sep", 0),
        )

    def pat_session_alive(self, token_id: str, token_secret: str | None) -> bool:
        """Whether a session opened with this PAT (and this of its secrets) may still be used,
        from any network: what a list of the account's sessions shows."""
        return self._pat_refusal(self._store.find_token_for_auth(token_id), token_secret) is None

    def _pat_refusal(self, record: TokenAuthRecord | None, token_secret: str | None) -> str | None:
        """Why a session opened with a PAT ends, if it does: it dies with the PAT, and with the
        secret it was opened with (a regeneration)."""
        now = self._clock()
        if record is None or token_refusal(record, now) is not None:
            return "the personal access token of this session is no longer valid"
        if not still_accepted(token_secret, record, now):
            return "the personal access token of this session was regenerated: sign in again"
        return None

    def caller(
        self,
        name: str,
        uid: object,
        method: str,
        token_id: str | None,
        ip: str | None,
        user_agent: str | None,
        *,
        token_secret: str | None = None,
        epoch: object = None,
    ) -> ApiCaller:
        """Who a session (an API session JWT, or a web page's) stands for, while its account is
        the one it was opened for and not disabled, in the session `epoch` it was opened in
        (an API session's; a page session's row is deleted instead), and the PAT it was opened
        with (if any) is still active and unexpired and still takes the secret it was opened
        with (`token_secret`: rotation.secret_fingerprint); else Unauthorized."""
        user = self._store.get_user(name)
        if user is None or user.id != uid or user.disabled:
            raise Unauthorized("session is invalid or expired: sign in again")
        if epoch is not None and epoch != user.session_epoch:
            raise Unauthorized(
                "the account's password or two-factor setting changed, or it was disabled, "
                "since this session began: sign in again"
            )
        if token_id is not None:
            record = self._store.find_token_for_auth(token_id)
            refusal = self._pat_refusal(record, token_secret)
            if refusal is not None:
                raise Unauthorized(refusal)
            assert record is not None  # a refusal otherwise
            if record.allow_from is not None and not allows(record.allow_from, ip):
                # The session is the token's: it is bound to the token's networks too.
                raise Unauthorized(not_allowed_from(ip))
        actor = Actor(name=user.name, kind="user", ip=ip, user_agent=user_agent)
        return ApiCaller(
            method=method, actor=actor, user=user, token_id=token_id, token_secret=token_secret
        )


def _encode(claims: dict[str, Any], key: bytes) -> str:
    import jwt  # here: PyJWT (~0.7 MiB) only where an API session is made or read

    return jwt.encode(claims, key, algorithm=_ALGORITHM)
