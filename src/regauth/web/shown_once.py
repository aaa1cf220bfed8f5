"""A new token's secret, shown once after POST-redirect-GET.

The answer to "Generate" is a 303 to the token's "created" page, with the secret in a cookie
of its own: sealed (AES-GCM, a key derived from the server secret, bound to this sign-in's
CSRF token, so no other session can open it), HttpOnly, SameSite=Strict, limited to that one
page's path and to two minutes. The page shows it and clears the cookie in the same answer, so
reloading the page, going back to it or opening it again never shows the secret again, and
never generates a second token (which re-sending the POST would). It is stateless: the page
may be served by another worker or replica than the one that made the token. The secret
never appears in a URL or in a log line, and is never stored server-side.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os

import orjson
from aiohttp import web
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

NAME = "regauth_shown_once"
LIFETIME_SECONDS = 120


class OnceSealer:
    """`purpose` keeps each use's key its own (the single sign-on start seals its secrets
    with one too, for longer: web/handlers/oidc.py)."""

    def __init__(
        self,
        hmac_key: bytes,
        *,
        purpose: bytes = b"regauth web shown once",
        lifetime_seconds: int = LIFETIME_SECONDS,
    ) -> None:
        self._aead = AESGCM(hmac.digest(hmac_key, purpose, hashlib.sha256))
        self.lifetime_seconds = lifetime_seconds

    def seal(self, secret: str, *, bound_to: str, now: int) -> str:
        nonce = os.urandom(12)
        payload = orjson.dumps([secret, now + self.lifetime_seconds])
        return _b64(nonce + self._aead.encrypt(nonce, payload, bound_to.encode()))

    def open(self, value: str | None, *, bound_to: str, now: int) -> str | None:
        """The secret, or None for a missing, expired, altered or foreign cookie."""
        if not value or not value.isascii():
            return None
        try:
            raw = base64.urlsafe_b64decode(value + "=" * (-len(value) % 4))
            plain = self._aead.decrypt(raw[:12], raw[12:], bound_to.encode())
            secret, expires_at = orjson.loads(plain)
        except (ValueError, TypeError, binascii.Error, InvalidTag):
            return None
        if not isinstance(secret, str) or not isinstance(expires_at, int) or now >= expires_at:
            return None
        return secret


def hand_over(response: web.StreamResponse, sealed: str, *, path: str, secure: bool) -> None:
    """The sealed secret, for the one page at `path`."""
    response.set_cookie(
        NAME,
        sealed,
        path=path,
        max_age=LIFETIME_SECONDS,
        httponly=True,
        samesite="Strict",
        secure=secure,
    )


def taken(response: web.StreamResponse, *, path: str, secure: bool) -> None:
    """The page has shown it (or found none): the browser forgets it."""
    response.del_cookie(NAME, path=path, secure=secure, httponly=True, samesite="Strict")


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()
