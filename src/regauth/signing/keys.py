"""Signing keys: generation, key ids in both registries' formats, the files the registry trusts."""

from __future__ import annotations

import base64
import functools
import hashlib
import json
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import NameOID

from regauth.errors import ConfigError
from regauth.signing.files import create_once

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
# A key published (in the bundle and JWKS) but not signing yet: `regauth keys rotate --stage`.
STAGED_KEY_FILE = "staged-key.pem"
STAGED_CERT_FILE = "staged-cert.pem"
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

    @property
    def log_id(self) -> str:
        """The key's name in logs and the audit trail whatever the kid format: the libtrust
        kid's colon groups, where a 43-character thumbprint looks like a secret to a scanner."""
        return libtrust_kid(self.private_key.public_key())


@dataclass(frozen=True)
class KeyRing:
    active: SigningKey
    # Certificates of earlier keys, newest first: trusted (so tokens they signed still
    # verify) but never used to sign.
    previous: tuple[x509.Certificate, ...]
    # Server-side pepper for hashing PAT secrets; never leaves the keys directory.
    hmac_key: bytes = field(repr=False)
    # The next key: trusted (published) already, signing once `regauth keys activate` runs.
    staged: SigningKey | None = None

    @property
    def trusted(self) -> tuple[x509.Certificate, ...]:
        """Every certificate the registry must trust: the active one, the staged one, then
        the previous ones, newest first."""
        staged = () if self.staged is None else (self.staged.certificate,)
        return (self.active.certificate, *staged, *self.previous)


def generate_signing_key(
    algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> SigningKey:
    private = _new_private_key(algorithm)
    return SigningKey(
        private, _self_signed(private, now), algorithm, kid_for(private.public_key(), kid_format)
    )


def load_or_create_keyring(
    directory: Path,
    algorithm: Algorithm,
    kid_format: KidFormat,
    *,
    now: datetime,
    check_algorithm: bool = True,
) -> KeyRing:
    """Load the keys, creating what is missing; safe when several processes start at once.

    Files that exist are never rewritten here: the bundle and JWKS the registry reads change
    only through `regauth keys` commands (rotation.py), so no other command, and no process
    starting, can make the registry distrust the tokens a running process signs.
    `check_algorithm`: refuse a signing key of another algorithm than `algorithm` (unless the
    staged key has it: a rotation in progress). A serving worker passes False: the files, not
    the configuration it started with, say which key signs after `regauth keys activate`.
    """
    directory.mkdir(mode=0o700, parents=True, exist_ok=True)
    hmac_path = directory / HMAC_FILE
    hmac_key = create_once(hmac_path, lambda: secrets.token_bytes(HMAC_KEY_BYTES), mode=0o600)
    if len(hmac_key) != HMAC_KEY_BYTES:
        raise ConfigError(f"{hmac_path} must hold exactly {HMAC_KEY_BYTES} bytes")
    key_path, cert_path = directory / KEY_FILE, directory / CERT_FILE
    if not key_path.exists() and cert_path.exists():
        # A new key here would silently replace the one that certificate belongs to.
        raise ConfigError(
            f"{cert_path} exists but {key_path} is missing: restore the key, or run "
            "`regauth keys rotate` to make a new one (the old certificate stays trusted)"
        )
    key_pem = create_once(key_path, lambda: _private_pem(_new_private_key(algorithm)), mode=0o600)
    private = _parse_private(key_pem, key_path)
    found = _algorithm_of(private, key_path)
    cert_pem = create_once(cert_path, lambda: _pem(_self_signed(private, now)), mode=0o644)
    # Read after the key: mid-rotation the new certificate may already be in place while
    # this key's own one has become a previous-*.pem (see rotation.activate_staged).
    certs = [*_parse_certs(cert_pem, cert_path)[:1], *_load_previous(directory)]
    active = next((c for c in certs if c.public_key() == private.public_key()), None)
    if active is None:
        raise ConfigError(
            f"{cert_path} does not belong to {key_path}: rename it to "
            "previous-<anything>.pem to keep trusting it, or delete it"
        )
    signing = SigningKey(private, active, found, kid_for(private.public_key(), kid_format))
    staged, staged_cert = _load_staged(directory, signing, kid_format)
    if check_algorithm and found != algorithm and (staged is None or staged.algorithm != algorithm):
        raise ConfigError(
            f"keys.algorithm is {algorithm} but {key_path} holds an {found} key: set "
            f"keys.algorithm = {found!r} to keep signing with it, or switch with `regauth keys "
            "rotate --stage`, a reload of the registry, then `regauth keys activate` (the old "
            "key stays trusted)"
        )
    others = [c for c in [*certs, *staged_cert] if c != active]
    if staged is not None:
        others = [c for c in others if c != staged.certificate]
    ring = KeyRing(signing, tuple(dict.fromkeys(others)), hmac_key, staged)  # unique, in order
    # Only when missing (the first start, or a file deleted by hand): see the docstring.
    if not all((directory / name).exists() for name in (BUNDLE_FILE, JWKS_FILE)):
        for name, content in published_files(ring, kid_format).items():
            create_once(directory / name, functools.partial(bytes, content), mode=0o644)
    return ring


def published_files(ring: KeyRing, kid_format: KidFormat) -> dict[str, bytes]:
    """What the registry reads, by file name: the bundle (2.8 and 3.x) and the JWKS (3.x)."""
    jwks = json.dumps(export_jwks(ring, kid_format), indent=2) + "\n"
    return {BUNDLE_FILE: export_pem(ring).encode(), JWKS_FILE: jwks.encode()}


def unpublished(directory: Path, key: SigningKey, *, x5c: bool) -> list[str]:
    """Why a registry reading the published files would refuse tokens `key` signs (empty:
    it accepts them). With x5c both registry versions check the certificate against the
    bundle; without, 3.x looks the kid up in the JWKS (2.8 derives it from the bundle)."""
    problems = []
    bundle_path, jwks_path = directory / BUNDLE_FILE, directory / JWKS_FILE
    try:
        bundle = x509.load_pem_x509_certificates(bundle_path.read_bytes())
    except (OSError, ValueError):
        bundle = []
    if key.certificate not in bundle:
        problems.append(f"{bundle_path} does not hold the certificate of key {key.kid}")
    if not x5c:
        try:
            kids = {str(k.get("kid")) for k in json.loads(jwks_path.read_bytes())["keys"]}
        except (OSError, ValueError, KeyError, TypeError, AttributeError):
            kids = set()
        if key.kid not in kids:
            problems.append(f"{jwks_path} does not list kid {key.kid}")
    return problems


def _load_staged(
    directory: Path, active: SigningKey, kid_format: KidFormat
) -> tuple[SigningKey | None, list[x509.Certificate]]:
    """The staged key, and its certificate to trust; a lone staged certificate (written
    first, removed last) is trusted; a pair equal to the active key is an activation
    half-done, ignored."""
    key_path, cert_path = directory / STAGED_KEY_FILE, directory / STAGED_CERT_FILE
    certs = _parse_certs(cert_path.read_bytes(), cert_path)[:1] if cert_path.exists() else []
    if not key_path.exists():
        return None, certs
    private = _parse_private(key_path.read_bytes(), key_path)
    if private.public_key() == active.private_key.public_key():
        return None, certs
    if not certs or certs[0].public_key() != private.public_key():
        raise ConfigError(
            f"{key_path} has no certificate of its own in {cert_path}: restore it, or delete "
            f"{key_path} and stage a new key with `regauth keys rotate --stage`"
        )
    public = private.public_key()
    algorithm = _algorithm_of(private, key_path)
    return SigningKey(private, certs[0], algorithm, kid_for(public, kid_format)), []


def export_pem(ring: KeyRing) -> str:
    return "".join(_pem(cert).decode() for cert in ring.trusted)


KID_FORMATS: tuple[KidFormat, ...] = ("libtrust", "jwk-thumbprint")


def export_jwks(ring: KeyRing, kid_format: KidFormat) -> dict[str, Any]:
    """Every trusted key, once under each kid format (the configured one first): changing
    `[keys] kid_format` then needs no new JWKS, so the registry never has to be reloaded
    (or disagree with a running regauth) for it."""
    formats = [kid_format, *(f for f in KID_FORMATS if f != kid_format)]
    publics = [_public_key(cert) for cert in ring.trusted]
    return {"keys": [public_jwk(p, kid_for(p, f)) for p in publics for f in formats]}


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
