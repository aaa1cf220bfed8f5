"""Rotating signing keys: stage the next key, activate it, retire old ones, and say which is which.

The published files (the bundle and the JWKS the registry reads) change only here, through
`regauth keys` commands. A staged key is published without signing; activating it changes
which key signs, not what is published (the same keys stay trusted), so the registry, once
reloaded after staging, accepts the tokens of both keys throughout. Serving processes notice
the new signing key by the files alone (reloading.py), on every replica that mounts the dir.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from hashlib import sha256
from pathlib import Path
from typing import Literal

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

from regauth.errors import Conflict
from regauth.signing import files
from regauth.signing.keys import (
    CERT_FILE,
    KEY_FILE,
    PREVIOUS_GLOB,
    STAGED_CERT_FILE,
    STAGED_KEY_FILE,
    Algorithm,
    KeyRing,
    KidFormat,
    SigningKey,
    generate_signing_key,
    kid_for,
    load_or_create_keyring,
    published_files,
    unpublished,
)

# When the signing key became the signing key (`activate`, `rotate`); without it (a key
# directory from before staged rotation) a key is taken to sign since it was made.
ACTIVATED_FILE = "activated.json"
# After a key stopped signing, its tokens live `[token] ttl_seconds` more, and the registry
# accepts them 60 s past their expiry (its leeway). The rest covers clock skew and replicas
# that see the new files late (a Kubernetes Secret reaches pods within about a minute).
RETIRE_MARGIN_SECONDS = 300
MIN_RETIRE_MARGIN_SECONDS = 60
_STOPPED_AT = re.compile(r"^previous-(\d{8}T\d{6}Z)-")
_STAMP_FORMAT = "%Y%m%dT%H%M%SZ"
# Our certificates start a day before they are made (clock skew on the x5c path).
_BACKDATED = timedelta(days=1)

State = Literal["active", "staged", "previous"]


@dataclass(frozen=True)
class KeyState:
    """One trusted key and where it is in its life."""

    state: State
    kid: str
    algorithm: Algorithm
    # active: signing since; staged: published since; previous: stopped signing at.
    since: datetime
    certificate: x509.Certificate
    # previous only: the file that holds it, and when no unexpired token can carry it.
    path: Path | None = None
    retire_after: datetime | None = None


def load(directory: Path, algorithm: Algorithm, kid_format: KidFormat, now: datetime) -> KeyRing:
    # Rotation works whatever `[keys] algorithm` says: it is the algorithm of the next key.
    return load_or_create_keyring(directory, algorithm, kid_format, now=now, check_algorithm=False)


def publish(directory: Path, ring: KeyRing, kid_format: KidFormat) -> bool:
    """Write the bundle and JWKS for `ring`; True if either changed."""
    changed = False
    for name, data in published_files(ring, kid_format).items():
        path = directory / name
        if not path.exists() or path.read_bytes() != data:
            files.replace(path, data, mode=0o644)
            changed = True
    return changed


def stage_key(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """Make the next key and publish it beside the signing one; nothing signs with it yet."""
    ring = load(directory, algorithm, kid_format, now)
    if ring.staged is not None:
        raise Conflict(
            f"key {ring.staged.kid} is staged already: run `regauth keys activate`, or delete "
            f"{directory / STAGED_KEY_FILE} and {directory / STAGED_CERT_FILE} to drop it"
        )
    fresh = generate_signing_key(algorithm, kid_format, now=now)
    # Certificate first: a process loading in between trusts it, and has no key to misuse.
    files.replace(directory / STAGED_CERT_FILE, _cert_pem(fresh.certificate), mode=0o644)
    files.replace(directory / STAGED_KEY_FILE, _key_pem(fresh), mode=0o600)
    ring = load(directory, algorithm, kid_format, now)
    publish(directory, ring, kid_format)
    return ring


def activate_staged(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime, x5c: bool
) -> KeyRing:
    """Sign with the staged key from now on; the signing key becomes a previous one."""
    ring = load(directory, algorithm, kid_format, now)
    staged = ring.staged
    if staged is None:
        raise Conflict("no key is staged: run `regauth keys rotate --stage` first")
    problems = unpublished(directory, staged, x5c=x5c)
    if problems:
        raise Conflict(
            "the staged key is not published, so a registry would refuse its tokens: "
            + "; ".join(problems)
            + ". Run `regauth keys publish`, reload the registry, then activate"
        )
    # The order lets a process load at any point between two steps (keys.py tolerates each):
    # the old certificate kept, then the new certificate, then the new key, then the staged
    # files removed (the key first: a lone staged certificate is only trusted).
    files.keep_as_previous(directory / CERT_FILE, now)
    record = {"certificate_sha256": _fingerprint(staged.certificate), "at": _iso(now)}
    files.replace(directory / ACTIVATED_FILE, json.dumps(record).encode() + b"\n", mode=0o644)
    files.replace(directory / CERT_FILE, _cert_pem(staged.certificate), mode=0o644)
    files.replace(directory / KEY_FILE, _key_pem(staged), mode=0o600)
    (directory / STAGED_KEY_FILE).unlink()
    (directory / STAGED_CERT_FILE).unlink()
    ring = load(directory, algorithm, kid_format, now)
    publish(directory, ring, kid_format)
    return ring


def rotate_keyring(
    directory: Path, algorithm: Algorithm, kid_format: KidFormat, *, now: datetime
) -> KeyRing:
    """Stage and activate at once: serving processes sign with the new key within a second,
    before a registry that has not been reloaded trusts it. For a key that must stop signing
    now, or before anything serves; otherwise stage, reload the registry, then activate."""
    if not (directory / KEY_FILE).exists():
        return load(directory, algorithm, kid_format, now)  # the first key
    stage_key(directory, algorithm, kid_format, now=now)
    return activate_staged(directory, algorithm, kid_format, now=now, x5c=False)


def key_states(
    directory: Path,
    ring: KeyRing,
    kid_format: KidFormat,
    *,
    ttl_seconds: int,
    margin_seconds: int = RETIRE_MARGIN_SECONDS,
) -> list[KeyState]:
    """The signing key, the staged one, then the previous ones, newest first."""
    active, staged = ring.active, ring.staged
    since = _active_since(directory, ring)
    states = [KeyState("active", active.kid, active.algorithm, since, active.certificate)]
    current = [active.certificate]
    if staged is not None:
        made = staged.certificate.not_valid_before_utc + _BACKDATED
        states.append(KeyState("staged", staged.kid, staged.algorithm, made, staged.certificate))
        current.append(staged.certificate)
    keep = timedelta(seconds=ttl_seconds + margin_seconds)
    for path in sorted(directory.glob(PREVIOUS_GLOB), reverse=True):
        stopped = _stopped_at(path)
        for cert in x509.load_pem_x509_certificates(path.read_bytes()):
            if cert in current:  # an activation half-done: the key still signs
                continue
            public = cert.public_key()
            algorithm: Algorithm = "RS256" if isinstance(public, rsa.RSAPublicKey) else "ES256"
            kid = kid_for(public, kid_format)  # type: ignore[arg-type]  # checked by the load
            states.append(KeyState("previous", kid, algorithm, stopped, cert, path, stopped + keep))
    return states


def retire_keys(
    directory: Path,
    algorithm: Algorithm,
    kid_format: KidFormat,
    *,
    now: datetime,
    ttl_seconds: int,
    margin_seconds: int = RETIRE_MARGIN_SECONDS,
) -> tuple[list[KeyState], list[KeyState]]:
    """Stop trusting the previous keys no unexpired token can carry: (retired, kept)."""
    ring = load(directory, algorithm, kid_format, now)
    previous = [
        s
        for s in key_states(
            directory, ring, kid_format, ttl_seconds=ttl_seconds, margin_seconds=margin_seconds
        )
        if s.state == "previous"
    ]
    # A file goes when every certificate in it is due (ours hold one each).
    waiting = {s.path for s in previous if s.retire_after is None or s.retire_after > now}
    retired = [s for s in previous if s.path not in waiting]
    for path in {s.path for s in retired if s.path is not None}:
        path.unlink()
    if retired:
        publish(directory, load(directory, algorithm, kid_format, now), kid_format)
    return retired, [s for s in previous if s.path in waiting]


def _active_since(directory: Path, ring: KeyRing) -> datetime:
    cert = ring.active.certificate
    try:
        record = json.loads((directory / ACTIVATED_FILE).read_bytes())
        if record["certificate_sha256"] == _fingerprint(cert):
            return datetime.fromisoformat(record["at"])
    except (OSError, ValueError, KeyError, TypeError):
        pass
    return cert.not_valid_before_utc + _BACKDATED


def _stopped_at(path: Path) -> datetime:
    """From the name rotation gave the file; for a file named by hand, when it was written."""
    match = _STOPPED_AT.match(path.name)
    if match:
        return datetime.strptime(match.group(1), _STAMP_FORMAT).replace(tzinfo=UTC)
    return datetime.fromtimestamp(path.stat().st_mtime, UTC)


def _fingerprint(cert: x509.Certificate) -> str:
    return sha256(cert.public_bytes(serialization.Encoding.DER)).hexdigest()


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _cert_pem(cert: x509.Certificate) -> bytes:
    return cert.public_bytes(serialization.Encoding.PEM)


def _key_pem(key: SigningKey) -> bytes:
    return key.private_key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
