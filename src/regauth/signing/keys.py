"""Signing keys: generation, key ids in both registries' formats, the files the registry trusts."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
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
PREVIOUS_GLOB = "previous-*.pem"
HMAC_KEY_BYTES = 32
_CERT_LIFETIME = timedelta(days=3650)


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _minimal_bytes(number: int) -> bytes:
    """Go's big.Int.Bytes(): big-endian without leading zero bytes."""
    return number.to_bytes((number.bit_length() + 7) // 8, "big")


def _p256(public_key: ec.EllipticCurvePublicKey) -> ec.EllipticCurvePublicNumbers:
    # The only curve we sign with; registries tie P-384/P-521 to ES384/ES512.
    if public_key.curve.name != "secp256r1":
        raise ValueError(f"unsupported EC curve {public_key.curve.name} (only P-256)")
    return public_key.public_numbers()


def libtrust_kid(public_key: PublicKey) -> str:
    """docker/libtrust KeyID: SHA-256 of the SubjectPublicKeyInfo DER, 240 bits, base32."""
    # Hashing the certificate instead of the SPKI is the classic bug (distribution#813).
    der = public_key.public_bytes(
        serialization.Encoding.DER, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    encoded = base64.b32encode(hashlib.sha256(der).digest()[:30]).decode()
    return ":".join(encoded[i : i + 4] for i in range(0, len(encoded), 4))


def jwk_thumbprint_kid(public_key: PublicKey) -> str:
    """distribution v3.1+ getJWKThumbprint: RFC 7638, but with Go's minimal integer bytes."""
    # For ~1/128 of P-256 keys the minimal encoding differs from a strict RFC 7638
    # thumbprint; the registry computes it this way, so we must too.
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        e, n = _b64u(_minimal_bytes(numbers.e)), _b64u(_minimal_bytes(numbers.n))
        members = f'{{"e":"{e}","kty":"RSA","n":"{n}"}}'
    else:
        p = _p256(public_key)
        x, y = _b64u(_minimal_bytes(p.x)), _b64u(_minimal_bytes(p.y))
        members = f'{{"crv":"P-256","kty":"EC","x":"{x}","y":"{y}"}}'
    return _b64u(hashlib.sha256(members.encode()).digest())


def kid_for(public_key: PublicKey, kid_format: KidFormat) -> str:
    if kid_format == "libtrust":
        return libtrust_kid(public_key)
    if kid_format == "jwk-thumbprint":
        return jwk_thumbprint_kid(public_key)
    raise ValueError(f"unknown kid format {kid_format!r}")


def public_jwk(public_key: PublicKey, kid: str) -> dict[str, str]:
    """RFC 7517 JWK of a public key, with "kid", "alg" and "use"."""
    if isinstance(public_key, rsa.RSAPublicKey):
        numbers = public_key.public_numbers()
        e, n = _b64u(_minimal_bytes(numbers.e)), _b64u(_minimal_bytes(numbers.n))
        return {"kty": "RSA", "alg": "RS256", "use": "sig", "kid": kid, "n": n, "e": e}
    p = _p256(public_key)
    # Padded to 32 bytes (RFC 7518 §6.2.1): go-jose, reading jwks.json for registry 3.x,
    # rejects shorter coordinates.
    x, y = _b64u(p.x.to_bytes(32, "big")), _b64u(p.y.to_bytes(32, "big"))
    return {"kty": "EC", "alg": "ES256", "use": "sig", "kid": kid, "crv": "P-256", "x": x, "y": y}


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
    # Certificates of earlier keys, newest first: trusted (so tokens they signed still
    # verify) but never used to sign.
    previous: tuple[x509.Certificate, ...]
    # Server-side pepper for hashing PAT secrets; never leaves the keys directory.
    hmac_key: bytes = field(repr=False)

    @property
    def trusted(self) -> tuple[x509.Certificate, ...]:
        """Every certificate the registry must trust, the active one first."""
        return (self.active.certificate, *self.previous)


def generate_signing_key(
    algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> SigningKey:
    private = _new_private_key(algorithm)
    return SigningKey(
        private, _self_signed(private, now), algorithm, kid_for(private.public_key(), kid_format)
    )


def load_or_create_keyring(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """Load the keys, creating what is missing; safe when several processes start at once."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    hmac_path = directory / HMAC_FILE
    hmac_key = _create_once(hmac_path, lambda: secrets.token_bytes(HMAC_KEY_BYTES), mode=0o600)
    if len(hmac_key) != HMAC_KEY_BYTES:
        raise ConfigError(f"{hmac_path} must hold exactly {HMAC_KEY_BYTES} bytes")
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if not key_path.exists() and cert_path.exists():
        # A new key here would silently replace the one that certificate belongs to.
        raise ConfigError(
            f"{cert_path} exists but {key_path} is missing: restore the key, or run "
            "`regauth keys rotate` to make a new one (the old certificate stays trusted)"
        )
    key_pem = _create_once(key_path, lambda: _private_pem(_new_private_key(algorithm)), mode=0o600)
    private = _parse_private(key_pem, key_path)
    found = _algorithm_of(private, key_path)
    if found != algorithm:
        raise ConfigError(
            f"keys.algorithm is {algorithm} but {key_path} holds an {found} key; "
            "run `regauth keys rotate` to switch algorithms (the old key stays trusted)"
        )
    cert_pem = _create_once(cert_path, lambda: _pem(_self_signed(private, now)), mode=0o644)
    # Read after the key: mid-rotation the new certificate may already be in place while
    # this key's own one has become a previous-*.pem (see rotate_keyring).
    certs = [*_parse_certs(cert_pem, cert_path)[:1], *_load_previous(directory)]
    active = next((c for c in certs if c.public_key() == private.public_key()), None)
    if active is None:
        raise ConfigError(
            f"{cert_path} does not belong to {key_path}: rename it to "
            "previous-<anything>.pem to keep trusting it, or delete it"
        )
    ring = KeyRing(
        SigningKey(private, active, algorithm, kid_for(private.public_key(), kid_format)),
        tuple(dict.fromkeys(c for c in certs if c != active)),  # unique, in order
        hmac_key,
    )
    jwks = json.dumps(export_jwks(ring, kid_format), indent=2) + "\n"
    for name, content in ((BUNDLE_FILE, export_pem(ring)), (JWKS_FILE, jwks)):
        path, data = directory / name, content.encode()
        # Skipping equal content keeps an up-to-date read-only directory usable.
        if not path.exists() or path.read_bytes() != data:
            _replace(path, data, mode=0o644)
    return ring


def rotate_keyring(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """Make a new active key; the old certificate stays trusted so issued tokens still verify."""
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    fresh = generate_signing_key(algorithm, kid_format, now=now)
    cert_path = directory / CERT_FILE
    if cert_path.exists():
        _keep_as_previous(cert_path, now)
    # Certificate before key: a process loading in between holds the old key, whose
    # certificate is already a previous-*.pem, so it still finds (and trusts) it.
    _replace(cert_path, _pem(fresh.certificate), mode=0o644)
    _replace(directory / KEY_FILE, _private_pem(fresh.private_key), mode=0o600)
    return load_or_create_keyring(directory, algorithm, kid_format, now=now)


def export_pem(ring: KeyRing) -> str:
    return "".join(_pem(cert).decode() for cert in ring.trusted)


def export_jwks(ring: KeyRing, kid_format: KidFormat) -> dict[str, Any]:
    publics = [_public_key(cert) for cert in ring.trusted]
    return {"keys": [public_jwk(p, kid_for(p, kid_format)) for p in publics]}


def _new_private_key(algorithm: Algorithm) -> PrivateKey:
    if algorithm == "ES256":
        return ec.generate_private_key(ec.SECP256R1())
    if algorithm == "RS256":
        return rsa.generate_private_key(public_exponent=65537, key_size=2048)
    raise ConfigError(f"unsupported signing algorithm {algorithm!r} (use ES256 or RS256)")


def _algorithm_of(private: PrivateKey, path: Path) -> Algorithm:
    if isinstance(private, rsa.RSAPrivateKey):
        if private.key_size < 2048:
            raise ConfigError(f"{path} is a {private.key_size}-bit RSA key; use 2048 or more")
        return "RS256"
    if private.curve.name != "secp256r1":
        raise ConfigError(f"{path} is a {private.curve.name} key; ES256 needs P-256")
    return "ES256"


def _self_signed(private: PrivateKey, now: datetime) -> x509.Certificate:
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, libtrust_kid(private.public_key()))])
    return (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(private.public_key())
        # Positive and random: recent Go rejects negative serials.
        .serial_number(x509.random_serial_number())
        # The registry checks the dates on the x5c path; a day back absorbs clock skew.
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + _CERT_LIFETIME)
        # A root in the registry's bundle that is also the leaf in x5c.
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(private, hashes.SHA256())
    )


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _private_pem(private: PrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


def _parse_private(pem: bytes, path: Path) -> PrivateKey:
    # `from None` everywhere here: a parser's message could quote the key file.
    try:
        private = serialization.load_pem_private_key(pem, password=None)
    except (ValueError, TypeError):
        raise ConfigError(f"{path} is not an unencrypted PEM private key") from None
    if not isinstance(private, ec.EllipticCurvePrivateKey | rsa.RSAPrivateKey):
        raise ConfigError(f"{path} holds a key type registries cannot verify (use EC or RSA)")
    return private


def _parse_certs(pem: bytes, path: Path) -> list[x509.Certificate]:
    try:
        certs = x509.load_pem_x509_certificates(pem)
    except ValueError:
        raise ConfigError(f"{path} is not a PEM certificate") from None
    for cert in certs:
        _public_key(cert, path)
    return certs


def _public_key(cert: x509.Certificate, path: Path | None = None) -> PublicKey:
    public = cert.public_key()
    if isinstance(public, rsa.RSAPublicKey) or (
        isinstance(public, ec.EllipticCurvePublicKey) and public.curve.name == "secp256r1"
    ):
        return public
    # distribution 2.8 refuses to start with other key types in its bundle.
    raise ConfigError(f"{path or 'a certificate'} must hold an RSA or P-256 key")


def _load_previous(directory: Path) -> list[x509.Certificate]:
    # Newest first: our names sort by time (previous-<UTC stamp>-<n>.pem).
    paths = sorted(directory.glob(PREVIOUS_GLOB), reverse=True)
    return [cert for path in paths for cert in _parse_certs(path.read_bytes(), path)]


def _keep_as_previous(cert_path: Path, now: datetime) -> None:
    # A copy, not a hard link to signing-cert.pem: an in-place edit of one must not change both.
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    tmp = _write_temp(cert_path, cert_path.read_bytes(), 0o644)
    try:
        for n in range(1000):
            try:
                os.link(tmp, cert_path.with_name(f"previous-{stamp}-{n:03d}.pem"))
                return
            except FileExistsError:
                continue
    finally:
        tmp.unlink()
    raise ConfigError(f"too many rotations at {stamp}; retry in a second")


def _create_once(path: Path, make: Callable[[], bytes], *, mode: int) -> bytes:
    """Write `make()` to `path` unless it exists; return what is there, maybe a racer's file."""
    if not path.exists():
        # Written under a temporary name and linked into place, so a racing reader never
        # sees a half-written file; the link fails if another process got there first.
        tmp = _write_temp(path, make(), mode)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def _replace(path: Path, data: bytes, *, mode: int) -> None:
    tmp = _write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def _write_temp(path: Path, data: bytes, mode: int) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            # Renaming an unsynced file can leave it empty after a crash (ext4).
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
