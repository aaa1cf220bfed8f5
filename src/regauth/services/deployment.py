"""Facts every process of one deployment must agree on, checked when a process starts."""

from __future__ import annotations

import hashlib
import hmac

from regauth.errors import ConfigError
from regauth.store.base import MetaStore

HMAC_FINGERPRINT = "hmac_fingerprint"


def hmac_fingerprint(key: bytes) -> str:
    """Names the secret without revealing it: an HMAC of a fixed text, not the key's hash."""
    return hmac.digest(key, b"regauth hmac secret fingerprint", hashlib.sha256).hex()[:32]


def verify_hmac_secret(store: MetaStore, key: bytes, *, keys_dir: str) -> None:
    """PATs are stored as HMACs under this secret: a replica (or a restored database) with
    another secret would refuse every existing token, one 401 at a time. Refuse to start
    instead, saying what to mount. The first process to start records the fingerprint."""
    recorded = store.claim_meta_value(HMAC_FINGERPRINT, hmac_fingerprint(key))
    if not hmac.compare_digest(recorded, hmac_fingerprint(key)):
        raise ConfigError(
            f"the HMAC secret in {keys_dir} (token-hmac.key) is not the one this database was "
            "initialised with, so no stored token would match: mount the same [keys] dir "
            "(the same token-hmac.key and signing keys) on every replica"
        )
