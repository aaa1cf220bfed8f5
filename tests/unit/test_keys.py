"""Signing keys: key ids against published vectors, certificates, and the keys directory."""

from __future__ import annotations

import base64
import hashlib
import json
import multiprocessing
import os
import re
import shutil
import stat
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from regauth.errors import ConfigError
from regauth.signing.jwt import TokenClaims, TokenSigner
from regauth.signing.keys import (
    BUNDLE_FILE,
    CERT_FILE,
    HMAC_FILE,
    JWKS_FILE,
    KEY_FILE,
    Algorithm,
    KeyRing,
    KidFormat,
    PublicKey,
    export_jwks,
    export_pem,
    generate_signing_key,
    jwk_thumbprint_kid,
    kid_for,
    libtrust_kid,
    load_or_create_keyring,
    public_jwk,
)
from regauth.signing.rotation import rotate_keyring

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
LIBTRUST_KID = re.compile(r"[A-Z2-7]{4}(:[A-Z2-7]{4}){11}")


def _b64u_int(text: str) -> int:
    return int.from_bytes(base64.urlsafe_b64decode(text + "=" * (-len(text) % 4)), "big")


def _b64u(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


# The P-256 key from distribution's docs/spec/auth/jwt.md (v2.8.2), whose example header
# carries its libtrust kid.
DOC_EC_KEY = ec.EllipticCurvePublicNumbers(
    _b64u_int("m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q"),
    _b64u_int("dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc"),
    ec.SECP256R1(),
).public_key()
# The RSA key from RFC 7638 §3.1, whose thumbprint the RFC gives.
RFC7638_RSA_KEY = rsa.RSAPublicNumbers(
    65537,
    _b64u_int(
        "0vx7agoebGcQSuuPiLJXZptN9nndrQmbXEps2aiAFbWhM78LhWx4cbbfAAtVT86zwu1RK7aPFFxuhDR1L6tSoc_B"
        "JECPebWKRXjBZCiFV4n3oknjhMstn64tZ_2W-5JsGY4Hc5n9yBXArwl93lqt7_RN5w6Cf0h4QyQ5v-65YGjQR0_F"
        "DW2QvzqY368QQMicAtaSqzs8KJZgnYb9c7d0zgdAZHzu6qMQvRL5hajrn1n91CbOpbISD08qNLyrdkt-bFTWhAI4"
        "vMQFh6WeZu0fM4lFd2NcRwr3XPksINHaQ-G_xBniIqbw0Ls1jF44-csFCur-kEgU8awapJzKnqDKgw"
    ),
).public_key()


@pytest.mark.parametrize(
    ("public_key", "kid_format", "expected"),
    [
        # jwt.md's example header carries exactly this kid.
        (DOC_EC_KEY, "libtrust", "PYYO:TEWU:V7JH:26JV:AQTZ:LJC3:SXVJ:XGHA:34F2:2LAQ:ZRMK:Z7Q6"),
        (DOC_EC_KEY, "jwk-thumbprint", "8qjioA3ZA7ti2JIE7c-U8smBFuZolQZvhSHDPU3hhB8"),
        (RFC7638_RSA_KEY, "jwk-thumbprint", "NzbLsXh8uDCcd-6MNwXF4W_7noWXFZAfHkxZsRGC9Xs"),
        # SPKI DER from `openssl rsa -RSAPublicKey_in -pubout -outform DER`, hashed by hand.
        (
            RFC7638_RSA_KEY,
            "libtrust",
            "VUZD:EDHW:YWLN:RBFQ:KOA3:UVZ2:XKG5:2V2J:WTPI:6SRD:U6PZ:VCO5",
        ),
    ],
)
def test_kid_matches_published_vector(
    public_key: PublicKey, kid_format: KidFormat, expected: str
) -> None:
    assert kid_for(public_key, kid_format) == expected
    function = libtrust_kid if kid_format == "libtrust" else jwk_thumbprint_kid
    assert function(public_key) == expected


def test_libtrust_kid_hashes_the_key_not_the_certificate() -> None:
    key = generate_signing_key("ES256", "libtrust", now=NOW)
    cert_digest = hashlib.sha256(key.certificate.public_bytes(serialization.Encoding.DER))
    wrong = base64.b32encode(cert_digest.digest()[:30]).decode()  # distribution#813
    assert key.kid.replace(":", "") != wrong
    assert LIBTRUST_KID.fullmatch(key.kid)


def test_unknown_kid_format_is_an_error() -> None:
    with pytest.raises(ValueError, match="unknown kid format"):
        kid_for(DOC_EC_KEY, "x5t")  # type: ignore[arg-type]


def _ec_key_with_short(coordinate: str) -> ec.EllipticCurvePublicKey:
    """A P-256 key whose `coordinate` has exactly one leading zero byte (1 key in ~256) and
    whose other coordinate has none (else the expected encodings below would be wrong)."""
    other = "y" if coordinate == "x" else "x"
    for _ in range(20_000):
        public = ec.generate_private_key(ec.SECP256R1()).public_key()
        numbers = public.public_numbers()
        if 2**240 <= getattr(numbers, coordinate) < 2**248 <= getattr(numbers, other):
            return public
    raise AssertionError("no key with a short coordinate found")


@pytest.mark.parametrize("coordinate", ["x", "y"])
def test_thumbprint_uses_go_minimal_bytes_for_a_leading_zero(coordinate: str) -> None:
    public = _ec_key_with_short(coordinate)
    numbers = public.public_numbers()
    short = getattr(numbers, coordinate).to_bytes(31, "big")
    padded = {c: _b64u(getattr(numbers, c).to_bytes(32, "big")) for c in ("x", "y")}
    go_style = {**padded, coordinate: _b64u(short)}
    expected = f'{{"crv":"P-256","kty":"EC","x":"{go_style["x"]}","y":"{go_style["y"]}"}}'
    strict_rfc = f'{{"crv":"P-256","kty":"EC","x":"{padded["x"]}","y":"{padded["y"]}"}}'
    assert jwk_thumbprint_kid(public) == _b64u(hashlib.sha256(expected.encode()).digest())
    assert jwk_thumbprint_kid(public) != _b64u(hashlib.sha256(strict_rfc.encode()).digest())
    # The JWK itself stays padded: go-jose rejects short coordinates in jwks.json.
    assert public_jwk(public, "k")[coordinate] == padded[coordinate]


def test_other_curves_are_refused() -> None:
    p384 = ec.generate_private_key(ec.SECP384R1()).public_key()
    with pytest.raises(ValueError, match="P-256"):
        jwk_thumbprint_kid(p384)


@pytest.mark.parametrize(
    ("public_key", "expected"),
    [
        (
            DOC_EC_KEY,
            {
                "kty": "EC",
                "alg": "ES256",
                "use": "sig",
                "kid": "k1",
                "crv": "P-256",
                "x": "m7zUpx3b-zmVE5cymSs64POG9QcyEpJaYCD82-549_Q",
                "y": "dU3biz8sZ_8GPB-odm8Wxz3lNDr1xcAQQPQaOcr1fmc",
            },
        ),
        (
            RFC7638_RSA_KEY,
            {
                "kty": "RSA",
                "alg": "RS256",
                "use": "sig",
                "kid": "k1",
                "n": _b64u(RFC7638_RSA_KEY.public_numbers().n.to_bytes(256, "big")),
                "e": "AQAB",
            },
        ),
    ],
)
def test_public_jwk(public_key: PublicKey, expected: dict[str, str]) -> None:
    assert public_jwk(public_key, "k1") == expected
    parsed = jwt.PyJWK(public_jwk(public_key, "k1")).key
    assert parsed.public_numbers() == public_key.public_numbers()


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
@pytest.mark.parametrize("kid_format", ["libtrust", "jwk-thumbprint"])
def test_generated_key_and_certificate(algorithm: Algorithm, kid_format: KidFormat) -> None:
    key = generate_signing_key(algorithm, kid_format, now=NOW)
    public = key.private_key.public_key()
    if algorithm == "ES256":
        assert isinstance(public, ec.EllipticCurvePublicKey)
        assert public.curve.name == "secp256r1"
    else:
        assert isinstance(public, rsa.RSAPublicKey)
        assert (public.key_size, public.public_numbers().e) == (2048, 65537)
    assert key.algorithm == algorithm
    assert key.kid == kid_for(public, kid_format)
    assert key.public_jwk()["kid"] == key.kid
    cert = key.certificate
    assert cert.public_key() == public
    assert cert.subject.rfc4514_string() == f"CN={libtrust_kid(public)}"
    assert cert.issuer == cert.subject
    cert.verify_directly_issued_by(cert)
    assert cert.serial_number > 0
    assert cert.not_valid_before_utc == NOW - timedelta(days=1)
    assert cert.not_valid_after_utc == NOW + timedelta(days=3650)
    constraints = cert.extensions.get_extension_for_class(x509.BasicConstraints)
    assert constraints.value.ca
    assert cert.signature_hash_algorithm is not None
    assert cert.signature_hash_algorithm.name == "sha256"


# --- the keys directory ---------------------------------------------------------------


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


def _load(
    directory: Path, algorithm: Algorithm = "ES256", kid_format: KidFormat = "libtrust"
) -> KeyRing:
    return load_or_create_keyring(directory, algorithm, kid_format, now=NOW)


def _bundle(directory: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates((directory / BUNDLE_FILE).read_bytes())


def _jwks_kids(directory: Path) -> list[str]:
    """The kid of each key in the configured format (listed first; the other one follows)."""
    return [k["kid"] for k in json.loads((directory / JWKS_FILE).read_text())["keys"]][::2]


def _token(ring: KeyRing) -> str:
    signer = TokenSigner(ring.active, include_x5c=False)
    claims = TokenClaims(issuer="i", subject="s", audience="a", access=[], now=0, ttl=60)
    return signer.issue(claims).jwt


def _pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _private_pem(private: ec.EllipticCurvePrivateKey) -> bytes:
    return private.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


@pytest.mark.parametrize("algorithm", ["ES256", "RS256"])
def test_first_load_creates_the_files_with_private_modes(
    tmp_path: Path, algorithm: Algorithm
) -> None:
    directory = tmp_path / "keys"
    ring = _load(directory, algorithm)
    assert _mode(directory) == 0o700
    assert _mode(directory / KEY_FILE) == 0o600
    assert _mode(directory / HMAC_FILE) == 0o600
    assert (directory / HMAC_FILE).read_bytes() == ring.hmac_key
    assert len(ring.hmac_key) == 32
    assert b"BEGIN PRIVATE KEY" in (directory / KEY_FILE).read_bytes()  # PKCS#8
    assert (
        x509.load_pem_x509_certificate((directory / CERT_FILE).read_bytes())
        == ring.active.certificate
    )
    assert _bundle(directory) == [ring.active.certificate]
    assert ring.previous == ()
    assert ring.hmac_key.hex() not in repr(ring)
    assert sorted(p.name for p in directory.iterdir()) == sorted(
        [KEY_FILE, CERT_FILE, HMAC_FILE, BUNDLE_FILE, JWKS_FILE]
    )


def test_second_load_returns_the_same_keys(tmp_path: Path) -> None:
    first, second = _load(tmp_path), _load(tmp_path)
    assert second.active.kid == first.active.kid
    assert second.active.certificate == first.active.certificate
    assert second.hmac_key == first.hmac_key


@pytest.mark.parametrize("kid_format", ["libtrust", "jwk-thumbprint"])
def test_missing_bundle_and_jwks_are_created(tmp_path: Path, kid_format: KidFormat) -> None:
    _load(tmp_path, kid_format="libtrust")
    (tmp_path / BUNDLE_FILE).unlink()
    (tmp_path / JWKS_FILE).unlink()
    ring = _load(tmp_path, kid_format=kid_format)
    assert (tmp_path / BUNDLE_FILE).read_text() == export_pem(ring)
    assert json.loads((tmp_path / JWKS_FILE).read_text()) == export_jwks(ring, kid_format)
    # The jwks kid is the one the gateway puts in its tokens' headers.
    assert _jwks_kids(tmp_path) == [ring.active.kid]
    header = jwt.get_unverified_header(_token(ring))
    assert header["kid"] == ring.active.kid


def test_jwks_lists_every_key_under_both_kid_formats(tmp_path: Path) -> None:
    ring = _load(tmp_path, kid_format="jwk-thumbprint")
    public = ring.active.private_key.public_key()
    kids = [k["kid"] for k in json.loads((tmp_path / JWKS_FILE).read_text())["keys"]]
    assert kids == [jwk_thumbprint_kid(public), libtrust_kid(public)]


@pytest.mark.parametrize("kid_format", ["libtrust", "jwk-thumbprint"])
def test_a_load_never_rewrites_published_files(tmp_path: Path, kid_format: KidFormat) -> None:
    # Before: any load (every CLI command, every start) rewrote the bundle and JWKS when they
    # differed, e.g. with only the new kid after a kid_format change, and a reloaded registry
    # refused the tokens of the regauth still running.
    _load(tmp_path, kid_format="libtrust")
    (tmp_path / BUNDLE_FILE).write_text("as the operator left it")
    (tmp_path / JWKS_FILE).write_text('{"keys": []}')
    _load(tmp_path, kid_format=kid_format)
    assert (tmp_path / BUNDLE_FILE).read_text() == "as the operator left it"
    assert (tmp_path / JWKS_FILE).read_text() == '{"keys": []}'


def test_algorithm_mismatch_names_rotate_and_no_key_material(tmp_path: Path) -> None:
    _load(tmp_path, "ES256")
    pem = (tmp_path / KEY_FILE).read_text()
    with pytest.raises(ConfigError, match="regauth keys rotate") as raised:
        _load(tmp_path, "RS256")
    message = str(raised.value)
    assert "ES256" in message
    assert "RS256" in message
    assert "BEGIN" not in message
    assert not any(line in message for line in pem.splitlines()[1:-1])
    assert raised.value.__cause__ is None


@pytest.mark.parametrize(
    ("damage", "match"),
    [
        (lambda d: (d / KEY_FILE).unlink(), "is missing"),
        (lambda d: (d / KEY_FILE).write_text("not a key"), "not an unencrypted PEM"),
        (lambda d: (d / HMAC_FILE).write_bytes(b"short"), "32 bytes"),
        (
            lambda d: (d / CERT_FILE).write_bytes(
                _pem(generate_signing_key("ES256", "libtrust", now=NOW).certificate)
            ),
            "does not belong",
        ),
        (lambda d: (d / "previous-x.pem").write_text("garbage"), "not a PEM certificate"),
        (
            lambda d: (d / KEY_FILE).write_bytes(
                _private_pem(ec.generate_private_key(ec.SECP384R1()))
            ),
            "needs P-256",
        ),
    ],
)
def test_a_broken_directory_is_a_config_error(
    tmp_path: Path, damage: Callable[[Path], Any], match: str
) -> None:
    _load(tmp_path)
    damage(tmp_path)
    with pytest.raises(ConfigError, match=match):
        _load(tmp_path)


@pytest.mark.parametrize(
    ("before", "after"), [("ES256", "RS256"), ("ES256", "ES256"), ("RS256", "ES256")]
)
def test_rotate_keeps_the_previous_key_trusted(
    tmp_path: Path, before: Algorithm, after: Algorithm
) -> None:
    old = _load(tmp_path, before, "jwk-thumbprint")
    old_token = _token(old)
    new = rotate_keyring(tmp_path, after, "jwk-thumbprint", now=NOW + timedelta(days=1))
    assert new.active.algorithm == after
    assert new.active.kid != old.active.kid
    assert new.previous == (old.active.certificate,)
    assert new.hmac_key == old.hmac_key
    assert _bundle(tmp_path) == [new.active.certificate, old.active.certificate]
    assert _jwks_kids(tmp_path) == [new.active.kid, old.active.kid]
    # A token signed before the rotation still verifies with a key from the new jwks.
    jwks = jwt.PyJWKSet.from_dict(json.loads((tmp_path / JWKS_FILE).read_text()))
    key = jwks[jwt.get_unverified_header(old_token)["kid"]]
    jwt.decode(old_token, key=key, algorithms=[before], audience="a", options={"verify_exp": False})
    # And the new configuration loads (same key) on the next start.
    assert _load(tmp_path, after, "jwk-thumbprint").active.kid == new.active.kid


def test_rotations_list_previous_keys_newest_first(tmp_path: Path) -> None:
    rings = [_load(tmp_path)]
    for _ in range(3):  # same timestamp each time: names must still be unique and ordered
        rings.append(rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW))
    latest = rings[-1]
    assert latest.previous == tuple(r.active.certificate for r in reversed(rings[:-1]))
    assert _jwks_kids(tmp_path) == [r.active.kid for r in reversed(rings)]


def test_rotate_an_empty_directory_creates_a_key(tmp_path: Path) -> None:
    ring = rotate_keyring(tmp_path / "keys", "RS256", "libtrust", now=NOW)
    assert ring.previous == ()
    assert _load(tmp_path / "keys", "RS256").active.kid == ring.active.kid


def test_load_during_rotation_keeps_the_old_key_with_its_certificate(tmp_path: Path) -> None:
    old = _load(tmp_path)
    # rotate_keyring's state between writing the new certificate and the new key.
    shutil.copy(tmp_path / CERT_FILE, tmp_path / "previous-20260101T000000Z-000.pem")
    incoming = generate_signing_key("ES256", "libtrust", now=NOW)
    (tmp_path / "incoming.tmp").write_bytes(_pem(incoming.certificate))
    os.replace(tmp_path / "incoming.tmp", tmp_path / CERT_FILE)
    ring = _load(tmp_path)
    assert ring.active.kid == old.active.kid
    assert ring.active.certificate == old.active.certificate
    assert ring.previous == (incoming.certificate,)  # trusted already, ahead of its key


def _load_in_child(directory: str, barrier: Any, results: Any) -> None:
    barrier.wait()
    ring = load_or_create_keyring(Path(directory), "ES256", "libtrust", now=NOW)
    fingerprint = ring.active.certificate.fingerprint(hashes.SHA256()).hex()
    results.put((ring.active.kid, fingerprint, ring.hmac_key.hex()))


@pytest.mark.parametrize("attempt", range(3))
def test_processes_starting_at_once_agree_on_one_key(tmp_path: Path, attempt: int) -> None:
    context = multiprocessing.get_context("fork")
    workers = 6
    barrier, results = context.Barrier(workers), context.Queue()
    processes = [
        context.Process(target=_load_in_child, args=(str(tmp_path / "keys"), barrier, results))
        for _ in range(workers)
    ]
    for p in processes:
        p.start()
    for p in processes:
        p.join(timeout=60)
    assert [p.exitcode for p in processes] == [0] * workers
    reports = {results.get(timeout=5) for _ in processes}
    ring = _load(tmp_path / "keys")
    fingerprint = ring.active.certificate.fingerprint(hashes.SHA256()).hex()
    assert reports == {(ring.active.kid, fingerprint, ring.hmac_key.hex())}
    assert _bundle(tmp_path / "keys") == [ring.active.certificate]
    assert not [p.name for p in (tmp_path / "keys").iterdir() if p.name.startswith(".")]
