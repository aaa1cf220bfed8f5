"""The web page's sign-in sessions, held on the server: the cookie carries only a random secret,
the store its keyed hash, so signing out (or a new password, a second factor turned on or off,
a disabled account) ends a session everywhere, whoever copied the cookie."""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Protocol

from regauth.config import LiveConfig
from regauth.domain.callers import PASSWORD, PAT, ApiCaller
from regauth.domain.clock import Clock
from regauth.domain.models import User, WebSession
from regauth.errors import NotFoundInStore, Unauthorized
from regauth.services.sessions import SessionService
from regauth.services.transactions import transactional
from regauth.store.base import Database, UserStore, WebSessionStore

# last_seen_at is written at most this often per session: a page view is a read, not a write.
TOUCH_SECONDS = 60
ENDED = "your session has ended: sign in again"


class WebSessionStoreParts(Database, UserStore, WebSessionStore, Protocol):
    """The sessions, and the accounts they belong to."""


class WebSessionService:
    def __init__(
        self,
        store: WebSessionStoreParts,
        sessions: SessionService,
        *,
        hmac_key: bytes,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._sessions = sessions
        # A key of its own: the stored id is worthless without the server secret.
        self._key = hmac.digest(hmac_key, b"regauth web sessions", hashlib.sha256)
        self._settings = settings
        self._clock = clock

    @property
    def _ttl(self) -> int:
        """The absolute timeout: as long as an API session lives ([auth] session_ttl_seconds)."""
        return self._settings.current.auth.session_ttl_seconds

    @property
    def _idle(self) -> int:
        return self._settings.current.web.idle_timeout_seconds

    def session_id(self, secret: str) -> str:
        """The stored id of the session whose cookie holds `secret`."""
        return hmac.digest(self._key, secret.encode(), hashlib.sha256).hex()

    @transactional
    def begin(self, caller: ApiCaller, ip: str | None, user_agent: str | None) -> str:
        """A new session for a caller who just signed in; returns its secret (for the cookie
        alone: it is stored only as its hash)."""
        user = caller.account()
        now = int(self._clock())
        # Opportunistic clean-up: sign-ins are rare enough, and the delete is indexed.
        self._store.purge_web_sessions(now=now, idle_before=self._idle_before(now))
        secret = secrets.token_urlsafe(32)
        self._store.create_web_session(
            WebSession(
                id=self.session_id(secret),
                user_id=user.id,
                user_name=user.name,
                read_only=caller.method != PASSWORD,
                token_id=caller.token_id,
                token_secret=caller.token_secret,
                created_at=now,
                last_seen_at=now,
                expires_at=now + self._ttl,
                created_ip=ip,
                user_agent=user_agent,
            )
        )
        return secret

    def authenticate(
        self, secret: str, ip: str | None, user_agent: str | None
    ) -> tuple[ApiCaller, WebSession]:
        """The caller behind a cookie's secret, and its session; Unauthorized once the session
        ended (signed out, ended by a change to the account, past a timeout) or its account or
        PAT is no longer good (the API sessions' own rule)."""
        session = self._store.find_web_session(self.session_id(secret))
        now = int(self._clock())
        if (
            session is None
            or now >= session.expires_at
            or session.last_seen_at < (self._idle_before(now))
        ):
            raise Unauthorized(ENDED)
        method = PAT if session.read_only else PASSWORD
        caller = self._sessions.caller(
            session.user_name,
            session.user_id,
            method,
            session.token_id,
            ip,
            user_agent,
            token_secret=session.token_secret,
        )
        if now - session.last_seen_at >= TOUCH_SECONDS:
            self._store.touch_web_session(session.id, now=now, unless_after=now - TOUCH_SECONDS)
        return caller, session

    def end(self, secret: str) -> None:
        """Signed out: the session ends on the server, whoever holds a copy of the cookie."""
        self._store.delete_web_session(self.session_id(secret))

    def list_for(self, user: User) -> list[WebSession]:
        """The account's sessions that may still be used: not idle, and not opened with a PAT
        (or a secret of it) that has since ended."""
        now = int(self._clock())
        return [
            s
            for s in self._store.list_web_sessions(user.id, now=now)
            if not self._idle_at(s, now)
            and (s.token_id is None or self._sessions.pat_session_alive(s.token_id, s.token_secret))
        ]

    def end_one(self, user: User, session_id: str) -> None:
        """ "Sign out" of one of the account's own sessions (another browser)."""
        if not self._store.delete_web_session(session_id, user_id=user.id):
            raise NotFoundInStore("no such session")

    def _idle_before(self, now: int) -> int:
        # last_seen_at lags the last request by up to TOUCH_SECONDS: a session counts as idle
        # on the server only past that slack. The exact idle timeout is the cookie's own
        # (web/boundary.py), which every request rewrites.
        return now - self._idle - TOUCH_SECONDS

    def _idle_at(self, session: WebSession, now: int) -> bool:
        return session.last_seen_at < self._idle_before(now)
