"""Credentials presented at /token: from an HTTP Basic header or the OAuth2 password form."""

from __future__ import annotations

from base64 import b64decode
from dataclasses import dataclass

from regauth.errors import BadRequest

# Long enough for any username plus any token or sane password; more is hostile.
MAX_HEADER_LENGTH = 4096
MAX_USERNAME_LENGTH = 255


@dataclass(frozen=True, slots=True)
class Credentials:
    """A username and a secret (a token or a password). `repr` never shows the secret."""

    username: str
    secret: str

    def __repr__(self) -> str:
        return f"Credentials(username={self.username!r}, secret=***)"


def parse_authorization(header: str | None) -> Credentials | None:
    """None for no header (anonymous); Credentials for Basic; BadRequest for anything malformed."""
    if header is None:
        return None
    if len(header) > MAX_HEADER_LENGTH:
        raise BadRequest("Authorization header too long")
    scheme, _, encoded = header.strip().partition(" ")
    if scheme.lower() != "basic":
        raise BadRequest("only Basic authorization is accepted here")
    try:
        decoded = b64decode(encoded.strip(), validate=True).decode("utf-8")
    except ValueError:  # binascii.Error, UnicodeDecodeError, and b64decode's for non-ASCII text
        raise BadRequest("malformed Basic authorization header") from None
    # Split at the first colon: the username cannot hold one, the secret may.
    username, sep, secret = decoded.partition(":")
    if not sep:
        raise BadRequest("malformed Basic authorization header")
    return credentials(username, secret)


def credentials(username: str, secret: str) -> Credentials:
    if len(username) > MAX_USERNAME_LENGTH or not username.isprintable():
        raise BadRequest("invalid username")
    return Credentials(username, secret)
