"""Who is asking: credentials (a personal access token or a password) to a principal, or 401."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.clock import Clock
from regauth.config import AuthConfig
from regauth.credentials import Credentials
from regauth.errors import Unauthorized
from regauth.models import ANONYMOUS, Principal
from regauth.passwords import PasswordChecker
from regauth.store.base import Store
from regauth.tokens import looks_like_token, parse_token, secret_matches

INCORRECT = "incorrect username or password"


@dataclass(frozen=True, slots=True)
class Authenticated:
    principal: Principal
    # How the caller proved who they are: "anonymous", "token" or "password".
    method: str


class Authenticator:
    def __init__(
        self,
        store: Store,
        passwords: PasswordChecker,
        *,
        hmac_key: bytes,
        config: AuthConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._passwords = passwords
        self._hmac_key = hmac_key
        self._config = config
        self._clock = clock

    async def authenticate(self, credentials: Credentials | None) -> Authenticated:
        """Anonymous without credentials; wrong credentials are always a 401, never anonymous."""
        if credentials is None:
            return Authenticated(ANONYMOUS, "anonymous")
        if not credentials.username or not credentials.secret:
            raise Unauthorized(INCORRECT)
        if looks_like_token(credentials.secret):
            return Authenticated(self._token(credentials), "token")
        return Authenticated(await self._password(credentials), "password")

    def _token(self, credentials: Credentials) -> Principal:
        token = parse_token(credentials.secret)  # MalformedToken before any database work
        record = self._store.find_token_for_auth(token.public_id)
        if (
            record is None
            or not secret_matches(self._hmac_key, token.secret, record.secret_hash)
            or record.owner_name != credentials.username
        ):
            raise Unauthorized(INCORRECT)
        # The caller holds the real secret from here on, so the precise reason may be told.
        if record.owner_disabled:
            raise Unauthorized("account is disabled")
        if not record.active:
            raise Unauthorized("personal access token is inactive")
        if record.expires_at is not None and self._clock() >= record.expires_at:
            raise Unauthorized("personal access token has expired")
        return Principal(
            name=record.owner_name,
            is_admin=record.owner_is_admin,
            token_id=record.token_id,
            access=record.access,
        )

    async def _password(self, credentials: Credentials) -> Principal:
        if not self._config.password_logins:
            raise Unauthorized("password logins are disabled: use a personal access token")
        user = self._store.get_user(credentials.username)
        stored = user.password_hash if user is not None else None
        if not await self._passwords.verify(credentials.username, credentials.secret, stored):
            raise Unauthorized(INCORRECT)
        assert user is not None  # verify() is False for a missing user
        if user.disabled:
            raise Unauthorized("account is disabled")
        return Principal(name=user.name, is_admin=user.is_admin)
