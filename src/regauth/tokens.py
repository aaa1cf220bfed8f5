"""Access-token strings: prefix per kind, public id, secret, checksum; parsed before any database work."""

from __future__ import annotations

import enum
import hashlib
import hmac
import secrets
import zlib
from dataclasses import dataclass

from regauth.errors import MalformedToken

_BASE62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
_BASE62_SET = frozenset(_BASE62)
ID_LENGTH = 10  # ~59 bits: enough to be unique with a retry on collision, and it is not secret
SECRET_LENGTH = 32  # ~190 bits of secret (the floor is 160)
CHECKSUM_LENGTH = 6  # CRC32 in base62
BODY_LENGTH = ID_LENGTH + SECRET_LENGTH + CHECKSUM_LENGTH


class TokenKind(enum.Enum):
    """Each kind has its own prefix so a leaked token says what it is."""

    PERSONAL = "rgp"
    ADMIN_KEY = "rga"

    @property
    def prefix(self) -> str:
        return self.value + "_"


_KINDS_BY_PREFIX = {kind.prefix: kind for kind in TokenKind}


@dataclass(frozen=True, slots=True)
class AccessToken:
    """A parsed token. `repr` hides the secret so it cannot reach a log line by accident."""

    kind: TokenKind
    public_id: str
    secret: str

    def __str__(self) -> str:
        body = self.public_id + self.secret
        return self.kind.prefix + body + _checksum(self.kind.prefix + body)

    def __repr__(self) -> str:
        return f"AccessToken(kind={self.kind.name}, public_id={self.public_id!r}, secret=***)"

    @classmethod
    def generate(cls, kind: TokenKind) -> AccessToken:
        return cls(kind, _random_base62(ID_LENGTH), _random_base62(SECRET_LENGTH))

    def secret_hash(self, key: bytes) -> bytes:
        return hash_secret(key, self.secret)


def looks_like_token(value: str) -> bool:
    """True if the value claims to be a regauth token (then it must parse, or it is malformed)."""
    return value[:4] in _KINDS_BY_PREFIX


def parse_token(value: str) -> AccessToken:
    """Parse and check a token string; raises MalformedToken before any lookup is spent on it."""
    kind = _KINDS_BY_PREFIX.get(value[:4])
    body = value[4:]
    if (
        kind is None
        or len(body) != BODY_LENGTH
        or not _BASE62_SET.issuperset(body)
        or not hmac.compare_digest(_checksum(value[:-CHECKSUM_LENGTH]), body[-CHECKSUM_LENGTH:])
    ):
        raise MalformedToken()
    return AccessToken(kind, body[:ID_LENGTH], body[ID_LENGTH : ID_LENGTH + SECRET_LENGTH])


def hash_secret(key: bytes, secret: str) -> bytes:
    """Keyed hash of a high-entropy secret: fast on purpose (a KDF adds nothing at 190 bits)."""
    return hmac.digest(key, secret.encode(), hashlib.sha256)


def secret_matches(key: bytes, secret: str, stored_hash: bytes) -> bool:
    return hmac.compare_digest(hash_secret(key, secret), stored_hash)


def _checksum(text: str) -> str:
    return _encode_base62(zlib.crc32(text.encode()), CHECKSUM_LENGTH)


def _encode_base62(number: int, width: int) -> str:
    chars = []
    for _ in range(width):
        number, rest = divmod(number, 62)
        chars.append(_BASE62[rest])
    return "".join(reversed(chars))


def _random_base62(length: int) -> str:
    return "".join(secrets.choice(_BASE62) for _ in range(length))


# For secret scanners (gitleaks, trufflehog custom rules); documented in the README.
SCANNER_PATTERN = rf"\brg[pa]_[0-9A-Za-z]{{{BODY_LENGTH}}}\b"
