"""Issuing registry JWTs: the header encoded once, claims with orjson, signed by cryptography."""

from __future__ import annotations

import base64
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import orjson
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, padding
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

from regauth.keys import SigningKey

_ECDSA = ec.ECDSA(hashes.SHA256())
_SHA256 = hashes.SHA256()
_PKCS1 = padding.PKCS1v15()


@dataclass(frozen=True, slots=True)
class IssuedToken:
    jwt: str
    issued_at: int
    expires_in: int


def _b64u(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class TokenSigner:
    """The /token hot path. PyJWT would cost ~30 µs more per token (perf-notes §1), so the
    JWS is assembled here: registries need only alg/typ/kid/x5c, int times and a string aud."""

    def __init__(self, key: SigningKey, *, include_x5c: bool) -> None:
        header: dict[str, Any] = {"alg": key.algorithm, "typ": "JWT", "kid": key.kid}
        if include_x5c:
            # Standard base64 (not URL-safe), as distribution decodes it.
            der = key.certificate.public_bytes(serialization.Encoding.DER)
            header["x5c"] = [base64.b64encode(der).decode()]
        self._header = _b64u(orjson.dumps(header)) + b"."
        self._key = key.private_key
        self._ecdsa = isinstance(key.private_key, ec.EllipticCurvePrivateKey)

    def issue(
        self,
        *,
        issuer: str,
        subject: str,
        audience: str,
        access: Sequence[Mapping[str, Any]],
        now: float,
        ttl: int,
    ) -> IssuedToken:
        iat = int(now)
        claims = {
            "iss": issuer,
            "sub": subject,
            "aud": audience,  # a string: distribution 2.8 rejects an array
            "exp": iat + ttl,
            "nbf": iat,
            "iat": iat,
            "jti": _b64u(os.urandom(16)).decode(),
            "access": access,
        }
        signing_input = self._header + _b64u(orjson.dumps(claims))
        return IssuedToken(
            (signing_input + b"." + _b64u(self._sign(signing_input))).decode(), iat, ttl
        )

    def _sign(self, data: bytes) -> bytes:
        if self._ecdsa:
            assert isinstance(self._key, ec.EllipticCurvePrivateKey)
            r, s = decode_dss_signature(self._key.sign(data, _ECDSA))
            # JWS wants raw r||s, 32 bytes each for P-256 (RFC 7518 §3.4), not DER.
            return r.to_bytes(32, "big") + s.to_bytes(32, "big")
        assert not isinstance(self._key, ec.EllipticCurvePrivateKey)
        return self._key.sign(data, _PKCS1, _SHA256)
