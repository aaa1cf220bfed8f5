"""Signing keys: generation, key ids in both registries' formats, the files the registry trusts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from regauth.errors import ConfigError

Algorithm = Literal["ES256", "RS256"]
KidFormat = Literal["libtrust", "jwk-thumbprint"]
PrivateKey = ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey
PublicKey = ec.EllipticCurvePublicKey | rsa.RSAPublicKey

KEY_FILE = "signing-key.pem"
CERT_FILE = "signing-cert.pem"
HMAC_FILE = "token-hmac.key"
BUNDLE_FILE = "rootcertbundle.pem"
JWKS_FILE = "jwks.json"
PREVIOUS_PREFIX = "previous-"
_CERT_YEARS = 10


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _minimal_bytes(number: int) -> bytes:
    """Go's big.Int.Bytes(): big-endian without leading zeros (distribution hashes these)."""
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def libtrust_kid(public_key: PublicKey) -> str:
    """docker/libtrust KeyID: SHA-256 of the SubjectPublicKeyInfo, 240 bits, base32 in 12 groups."""
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode().rstrip("=")
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def jwk_thumbprint_kid(public_key: PublicKey) -> str:
    """distribution v3.1+ getJWKThumbprint, with its minimal (unpadded) integer encoding."""
    if isinstance(public_key, rsa.RSAPublicKey):
        n = public_key.public_numbers()
        members = (
            f'{{"e":"{_b64u(_minimal_bytes(n.e))}","kty":"RSA","n":"{_b64u(_minimal_bytes(n.n))}"}}'
        )
    else:
        p = public_key.public_numbers()
        members = (
            f'{{"crv":"{_curve_name(public_key)}","kty":"EC",'
            f'"x":"{_b64u(_minimal_bytes(p.x))}","y":"{_b64u(_minimal_bytes(p.y))}"}}'
        )
    return _b64u(hashlib.sha256(members.encode()).digest())


def kid_for(public_key: PublicKey, kid_format: KidFormat) -> str:
    return libtrust_kid(public_key) if kid_format == "libtrust" else jwk_thumbprint_kid(public_key)


def _curve_name(public_key: ec.EllipticCurvePublicKey) -> str:
    return {"secp256r1": "P-256", "secp384r1": "P-384", "secp521r1": "P-521"}[public_key.curve.name]


def public_jwk(public_key: PublicKey, kid: str) -> dict[str, str]:
    """RFC 7517 JWK of a public key (coordinates padded to the curve size, as RFC 7518 says)."""
    if isinstance(public_key, rsa.RSAPublicKey):
        n = public_key.public_numbers()
        return {
            "kty": "RSA",
            "alg": "RS256",
            "use": "sig",
            "kid": kid,
            "n": _b64u(_minimal_bytes(n.n)),
            "e": _b64u(_minimal_bytes(n.e)),
        }
    p = public_key.public_numbers()
    size = (public_key.curve.key_size + 7) // 8
    return {
        "kty": "EC",
        "alg": "ES256",
        "use": "sig",
        "kid": kid,
        "crv": _curve_name(public_key),
        "x": _b64u(p.x.to_bytes(size, "big")),
        "y": _b64u(p.y.to_bytes(size, "big")),
    }


@dataclass(frozen=True)
class SigningKey:
    private_key: PrivateKey
    certificate: x509.Certificate
    algorithm: Algorithm
    kid: str

    def public_jwk(self) -> dict[str, str]:
        return public_jwk(self.private_key.public_key(), self.kid)


@dataclass(frozen=True)
class KeyRing:
    active: SigningKey
    # Certificates of earlier keys, still trusted until the tokens they signed expire.
    previous: tuple[x509.Certificate, ...]
    # Server secret for keyed hashes of token secrets; never leaves the keys folder.
    hmac_key: bytes

    @property
    def certificates(self) -> tuple[x509.Certificate, ...]:
        return (self.active.certificate, *self.previous)


def generate_signing_key(
    algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> SigningKey:
    private: PrivateKey = (
        ec.generate_private_key(ec.SECP256R1())
        if algorithm == "ES256"
        else rsa.generate_private_key(public_exponent=65537, key_size=2048)
    )
    return SigningKey(
        private, _self_signed(private, now), algorithm, kid_for(private.public_key(), kid_format)
    )


def _self_signed(private: PrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, libtrust_kid(private.public_key()))])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        .serial_number(x509.random_serial_number())
        # The registry checks validity dates on the x5c path: cover the whole key lifetime.
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=365 * _CERT_YEARS))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )


def load_or_create_keyring(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """Load the keys, creating what is missing; safe when several processes start at once."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    hmac_key = _create_once(directory / HMAC_FILE, lambda: secrets.token_bytes(32), private=True)
    key_pem = directory / KEY_FILE
    if not key_pem.exists():
        fresh = generate_signing_key(algorithm, kid_format, now=now)
        # The loser of a race reads the winner's key (and below, the winner's certificate).
        _create_once(key_pem, lambda: _private_pem(fresh.private_key), private=True)
    private = _load_private(key_pem)
    found: Algorithm = "ES256" if isinstance(private, ec.EllipticCurvePrivateKey) else "RS256"
    if found != algorithm:
        raise ConfigError(
            f"keys.algorithm is {algorithm} but the key in {directory} is {found}; "
            "run `regauth keys rotate` to switch algorithms"
        )
    certificate = _certificate_for(directory, private, now)
    ring = KeyRing(
        SigningKey(private, certificate, algorithm, kid_for(private.public_key(), kid_format)),
        tuple(_load_previous(directory)),
        hmac_key,
    )
    _write_atomic(directory / BUNDLE_FILE, export_pem(ring).encode())
    _write_atomic(
        directory / JWKS_FILE, json.dumps(export_jwks(ring, kid_format), indent=2).encode()
    )
    return ring


def rotate_keyring(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """A new active key; the old certificate stays in the bundle so issued tokens still verify."""
    cert = directory / CERT_FILE
    if cert.exists():
        stamp = now.strftime("%Y%m%dT%H%M%SZ")
        os.replace(cert, directory / f"{PREVIOUS_PREFIX}{stamp}.pem")
    (directory / KEY_FILE).unlink(missing_ok=True)
    return load_or_create_keyring(directory, algorithm, kid_format, now=now)


def export_pem(ring: KeyRing) -> str:
    return "".join(c.public_bytes(serialization.Encoding.PEM).decode() for c in ring.certificates)


def export_jwks(ring: KeyRing, kid_format: KidFormat) -> dict[str, Any]:
    keys = [ring.active.public_jwk()]
    for cert in ring.previous:
        public = cert.public_key()
        assert isinstance(public, ec.EllipticCurvePublicKey | rsa.RSAPublicKey)
        keys.append(public_jwk(public, kid_for(public, kid_format)))
    return {"keys": keys}


def _certificate_for(directory: Path, private: PrivateKey, now: datetime) -> x509.Certificate:
    path = directory / CERT_FILE
    pem = _create_once(
        path,
        lambda: _self_signed(private, now).public_bytes(serialization.Encoding.PEM),
        private=False,
    )
    cert = x509.load_pem_x509_certificate(pem)
    if cert.public_key() == private.public_key():
        return cert
    # Left over from another key (an interrupted rotation): issue one for this key.
    cert = _self_signed(private, now)
    _write_atomic(path, cert.public_bytes(serialization.Encoding.PEM))
    return cert


def _load_previous(directory: Path) -> list[x509.Certificate]:
    files = sorted(directory.glob(f"{PREVIOUS_PREFIX}*.pem"), reverse=True)
    return [x509.load_pem_x509_certificate(f.read_bytes()) for f in files]


def _private_pem(private: PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )


def _load_private(path: Path) -> PrivateKey:
    try:
        private = serialization.load_pem_private_key(path.read_bytes(), password=None)
    except ValueError:
        raise ConfigError(f"{path} is not a readable PEM private key") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{path} holds a key type the registry cannot verify (use EC or RSA)")
    return private


def _create_once(path: Path, make: Any, *, private: bool) -> bytes:
    """Write `make()` to a new file unless it exists (O_EXCL); either way return the content."""
    if not path.exists():
        tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600 if private else 0o644)
        with os.fdopen(fd, "wb") as f:
            f.write(make())
        try:
            os.link(tmp, path)  # atomic and fails if another process won the race
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def _write_atomic(path: Path, data: bytes) -> None:
    if path.exists() and path.read_bytes() == data:
        return
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}")
    tmp.write_bytes(data)
    os.chmod(tmp, 0o644)
    os.replace(tmp, path)
