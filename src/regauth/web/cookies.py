"""The page cookie: a signed envelope holding the page session's secret, when it was last used,
and the nonce the CSRF token is derived from. Signed, not encrypted: the secret is random and
names a session held on the server (services/web_sessions.py), which signing out ends."""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
from dataclasses import dataclass, replace

import orjson

NAME = "regauth_web"
_CSRF = b"csrf:"


@dataclass(frozen=True, slots=True)
class Envelope:
    """What the cookie says. `session` is the secret of the server-side page session (None
    before signing in); `seen` is the time of the last request (the idle timeout); `nonce` is
    random per sign-in."""

    nonce: str
    seen: int
    session: str | None = None

    def touched(self, now: int) -> Envelope:
        return replace(self, seen=now)


def fresh(now: int, session: str | None = None) -> Envelope:
    """A new envelope with a new nonce: at every sign-in and sign-out, so that a nonce (and the
    CSRF token) known before signing in is worthless after it (session fixation)."""
    return Envelope(nonce=secrets.token_urlsafe(18), seen=now, session=session)


class CookieSigner:
    def __init__(self, hmac_key: bytes) -> None:
        # Keys of their own, derived from the server secret.
        self._key = hmac.digest(hmac_key, b"regauth web cookies", hashlib.sha256)
        self._csrf_key = hmac.digest(hmac_key, b"regauth web csrf", hashlib.sha256)

    def dump(self, envelope: Envelope) -> str:
        fields = [envelope.nonce, envelope.seen, envelope.session]
        payload = _b64(orjson.dumps(fields))
        return f"{payload}.{_b64(self._mac(payload))}"

    def load(self, value: str | None) -> Envelope | None:
        """The envelope, or None for a missing, altered or malformed cookie."""
        if not value or not value.isascii():
            return None
        payload, _, mac = value.partition(".")
        try:
            if not hmac.compare_digest(_unb64(mac), self._mac(payload)):
                return None
            nonce, seen, session = orjson.loads(_unb64(payload))
        except (ValueError, TypeError, binascii.Error):
            return None
        if not (
            isinstance(nonce, str)
            and isinstance(seen, int)
            and (session is None or isinstance(session, str))
        ):
            return None
        return Envelope(nonce=nonce, seen=seen, session=session)

    def csrf_token(self, envelope: Envelope) -> str:
        return _b64(hmac.digest(self._csrf_key, _CSRF + envelope.nonce.encode(), hashlib.sha256))

    def csrf_ok(self, envelope: Envelope | None, token: str | None) -> bool:
        if envelope is None or not token or not token.isascii():
            return False
        return hmac.compare_digest(token.encode(), self.csrf_token(envelope).encode())

    def _mac(self, payload: str) -> bytes:
        return hmac.digest(self._key, payload.encode(), hashlib.sha256)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
