"""What every process of one deployment must share: the HMAC secret PATs are stored under."""

from __future__ import annotations

from pathlib import Path

import pytest

from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.errors import ConfigError
from regauth.runtime import Runtime
from regauth.services.deployment import HMAC_FINGERPRINT, hmac_fingerprint
from tests.support.builders import OpenRuntime


def test_a_process_with_another_hmac_secret_refuses_to_start_and_says_what_to_mount(
    runtime: Runtime, another_runtime: OpenRuntime, tmp_path: Path
) -> None:
    owner = runtime.users.create("alice", None, CLI_ACTOR)
    runtime.tokens.create(
        owner, CLI_ACTOR, description="ci", access=AccessLevel.READ, expires_at=None
    )
    with pytest.raises(ConfigError, match=r"token-hmac\.key.*mount the same \[keys\] dir"):
        another_runtime(keys={"dir": str(tmp_path / "other-keys")})
    # The same keys open it (another worker, the CLI, a replica with the secret mounted).
    assert another_runtime().users.get("alice").id == owner.id


def test_the_first_process_records_the_fingerprint_never_the_secret(runtime: Runtime) -> None:
    recorded = runtime.store.meta_value(HMAC_FINGERPRINT)
    assert recorded == hmac_fingerprint(runtime.keyring.hmac_key)
    assert runtime.keyring.hmac_key.hex() not in recorded
