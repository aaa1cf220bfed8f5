"""Two-factor authentication: TOTP (RFC 6238) enrollment, codes, one-time recovery codes."""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from dataclasses import dataclass

import pyotp
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from regauth.domain.clock import Clock
from regauth.domain.models import Actor, User
from regauth.errors import BadRequest, Conflict, Unauthorized
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Store

ISSUER = "regauth"
_STEP_SECONDS = 30
_RECOVERY_CODES = 10
_RECOVERY_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i


@dataclass(frozen=True, slots=True)
class Enrollment:
    secret: str
    otpauth_uri: str


class TwoFactorService:
    def __init__(self, store: Store, audit: AuditLog, *, hmac_key: bytes, clock: Clock) -> None:
        self._store = store
        self._audit = audit
        # The TOTP secret must be readable to check codes, so it is encrypted, not hashed.
        self._aead = AESGCM(hmac.digest(hmac_key, b"regauth totp secrets", hashlib.sha256))
        self._code_key = hmac.digest(hmac_key, b"regauth recovery codes", hashlib.sha256)
        self._clock = clock

    @transactional
    def enroll(self, user: User, actor: Actor) -> Enrollment:
        if user.totp_enabled:
            raise Conflict("two-factor authentication is already enabled")
        secret = pyotp.random_base32()
        self._store.set_totp(user.id, self._seal(user.id, secret), enabled=False)
        self._audit.record(actor, "2fa.enroll", user.name)
        uri = pyotp.TOTP(secret).provisioning_uri(name=user.name, issuer_name=ISSUER)
        return Enrollment(secret, uri)

    @transactional
    def confirm(self, user: User, actor: Actor, code: str) -> list[str]:
        """Turn 2FA on with a first valid code; returns the recovery codes (shown once)."""
        sealed, enabled, _ = self._store.get_totp(user.id)
        if enabled:
            raise Conflict("two-factor authentication is already enabled")
        if sealed is None:
            raise BadRequest("start two-factor enrollment first")
        if not self._totp_ok(user.id, self._open(user.id, sealed), code):
            raise BadRequest("the code is not valid: check the authenticator app's clock")
        self._store.set_totp(user.id, sealed, enabled=True)
        # Sessions signed in with the password alone end: from now on they need the second factor.
        ended = self._store.delete_auto_tokens(user.id)
        # The web page's too (the page that turned it on starts a new one).
        web_ended = self._store.end_sessions(user.id)
        codes = ["-".join(_random_code(4) for _ in range(2)) for _ in range(_RECOVERY_CODES)]
        self._store.set_recovery_codes(user.id, [self._code_hash(c) for c in codes])
        # As a password reset says it: which clients were signed out by it.
        self._audit.record(
            actor,
            "2fa.enable",
            user.name,
            session_tokens_ended=ended,
            web_sessions_ended=web_ended,
        )
        return codes

    @transactional
    def verify(self, user: User, code: str) -> bool:
        """A current TOTP code (each accepted once) or an unused recovery code."""
        sealed, enabled, _ = self._store.get_totp(user.id)
        if not enabled or sealed is None:
            return False
        code = code.strip().replace(" ", "")
        if _is_ascii_digits(code):
            return self._totp_ok(user.id, self._open(user.id, sealed), code)
        return self._store.use_recovery_code(
            user.id, self._code_hash(code.lower()), now=int(self._clock())
        )

    @transactional
    def disable(self, user: User, actor: Actor, code: str | None) -> None:
        """With a code from the user; an admin (code None) may reset a lost device."""
        if code is not None and not self.verify(user, code):
            raise Unauthorized("the two-factor code is not valid")
        self._store.set_totp(user.id, None, enabled=False)
        # A change to how the account signs in ends its web sessions, as turning it on does
        # (and as an admin's reset of a lost device must: a stolen session would survive it).
        ended = self._store.end_sessions(user.id)
        self._audit.record(actor, "2fa.disable", user.name, web_sessions_ended=ended)

    def _totp_ok(self, user_id: int, secret: str, code: str) -> bool:
        if not (len(code) == 6 and _is_ascii_digits(code)):
            return False
        now = self._clock()
        totp = pyotp.TOTP(secret)
        # One step either side for clock drift; each step is accepted once (no replay).
        for offset in (0, -1, 1):
            at = now + offset * _STEP_SECONDS
            if hmac.compare_digest(totp.at(at), code):
                return self._store.use_totp_step(user_id, int(at // _STEP_SECONDS))
        return False

    def _seal(self, user_id: int, secret: str) -> bytes:
        nonce = os.urandom(12)
        return nonce + self._aead.encrypt(nonce, secret.encode(), str(user_id).encode())

    def _open(self, user_id: int, sealed: bytes) -> str:
        try:
            return self._aead.decrypt(sealed[:12], sealed[12:], str(user_id).encode()).decode()
        except InvalidTag:
            # The keys folder was replaced: the secret cannot be read, so no code can match.
            return pyotp.random_base32()

    def _code_hash(self, code: str) -> bytes:
        return hmac.digest(self._code_key, code.encode(), hashlib.sha256)


def _is_ascii_digits(code: str) -> bool:
    # str.isdigit() is true for the digits of every script ("١٢٣"), which no app shows.
    return code.isascii() and code.isdigit()


def _random_code(length: int) -> str:
    return "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(length))
