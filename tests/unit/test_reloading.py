"""A serving process follows `regauth keys activate` by the key files alone, within a check."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import jwt
import pytest

from regauth.signing import rotation
from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import TokenClaims, TokenSigner
from regauth.signing.keys import BUNDLE_FILE, KeyRing, load_or_create_keyring, unpublished
from regauth.signing.reloading import KeyWatcher, stamp

NOW = datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC)
CLAIMS = TokenClaims(issuer="i", subject="s", audience="a", access=[], now=0, ttl=60)


class Loads:
    """load_or_create_keyring as a serving worker calls it, counted."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory
        self.count = 0

    def __call__(self) -> KeyRing:
        self.count += 1
        return load_or_create_keyring(
            self.directory, "ES256", "libtrust", now=NOW, check_algorithm=False
        )


def _watcher(directory: Path) -> tuple[KeyWatcher, BatchSigner, Loads]:
    loads = Loads(directory)
    ring = loads()
    signer = BatchSigner(TokenSigner(ring.active, include_x5c=False))
    watcher = KeyWatcher(
        directory,
        signer,
        ring.active,
        load=loads,
        unpublished=lambda key: unpublished(directory, key, x5c=False),
        make_signer=lambda key: TokenSigner(key, include_x5c=False),
    )
    loads.count = 0
    return watcher, signer, loads


def _header(token: str) -> dict[str, str]:
    return dict(jwt.get_unverified_header(token))


async def test_activation_switches_the_signer_without_a_restart(tmp_path: Path) -> None:
    watcher, signer, loads = _watcher(tmp_path)
    old = watcher.active
    await watcher.check()
    assert loads.count == 0  # nothing changed: not even a read
    staged = rotation.stage_key(tmp_path, "RS256", "libtrust", now=NOW).staged
    assert staged is not None
    await watcher.check()
    # Staging publishes; the signing key is the same, so tokens still name it.
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] == old.kid
    rotation.activate_staged(tmp_path, "ES256", "libtrust", now=NOW, x5c=False)
    await watcher.check()
    token = (await signer.issue(CLAIMS)).jwt
    assert _header(token) == {"alg": "RS256", "typ": "JWT", "kid": staged.kid}
    public = staged.private_key.public_key()
    jwt.decode(token, key=public, algorithms=["RS256"], audience="a", options={"verify_exp": False})
    assert watcher.active.kid == staged.kid


async def test_a_token_prepared_before_the_switch_is_signed_by_its_own_key(
    tmp_path: Path,
) -> None:
    _, signer, loads = _watcher(tmp_path)
    old = loads().active
    # Requests waiting in a batch when the signer changes keep the key their header names.
    pending = asyncio.ensure_future(signer.issue(CLAIMS))
    await asyncio.sleep(0)  # prepared (header written), waiting for its batch
    new = rotation.rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW).active
    signer.replace(TokenSigner(new, include_x5c=False))
    token = (await pending).jwt
    assert _header(token)["kid"] == old.kid
    jwt.decode(
        token,
        key=old.private_key.public_key(),
        algorithms=["ES256"],
        audience="a",
        options={"verify_exp": False},
    )


async def test_a_key_the_published_files_do_not_trust_is_not_used(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, signer, _ = _watcher(tmp_path)
    old = watcher.active
    bundle = (tmp_path / BUNDLE_FILE).read_bytes()
    rotation.rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW)
    (tmp_path / BUNDLE_FILE).write_bytes(bundle)  # the new certificate is not in it
    with caplog.at_level(logging.ERROR, logger="regauth.keys"):
        await watcher.check()
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] == old.kid
    assert [r.getMessage() for r in caplog.records] == ["signing_key_not_published"]
    # Once the files trust it (`regauth keys publish`), the next check takes it.
    rotation.publish(
        tmp_path, load_or_create_keyring(tmp_path, "ES256", "libtrust", now=NOW), "libtrust"
    )
    await watcher.check()
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] != old.kid


async def test_a_damaged_directory_keeps_the_old_key(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    watcher, signer, _ = _watcher(tmp_path)
    old = watcher.active
    (tmp_path / "signing-key.pem").write_text("not a key")
    with caplog.at_level(logging.ERROR, logger="regauth.keys"):
        await watcher.check()
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] == old.kid
    assert [r.getMessage() for r in caplog.records] == ["signing_key_reload_failed"]
    assert "not a key" not in caplog.text


async def test_a_failure_that_is_not_regauths_logs_its_type_only(
    tmp_path: Path, caplog: pytest.LogCaptureFixture, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A library's message may quote what it failed to read (a key file's content)."""
    watcher, _, _ = _watcher(tmp_path)

    def quoting() -> KeyRing:
        raise ValueError("could not parse -----BEGIN PRIVATE KEY----- MIGHAgEAMBMG")

    monkeypatch.setattr(watcher, "_load", quoting)
    (tmp_path / "signing-key.pem").touch()  # a change to look at
    with caplog.at_level(logging.ERROR, logger="regauth.keys"):
        await watcher.check()
    [record] = caplog.records
    assert record.fields == {"cause": "ValueError"}  # type: ignore[attr-defined]
    assert "PRIVATE KEY" not in caplog.text


async def test_the_watch_runs_on_its_own(tmp_path: Path) -> None:
    watcher, signer, _ = _watcher(tmp_path)
    watcher._interval = 0.01
    old = watcher.active
    await watcher.start()
    try:
        rotation.rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW)
        for _ in range(200):
            await asyncio.sleep(0.01)
            if watcher.active.kid != old.kid:
                break
    finally:
        await watcher.stop()
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] == watcher.active.kid != old.kid


async def test_a_check_cancelled_after_its_read_switches_nothing(tmp_path: Path) -> None:
    """The read runs in a thread; the key and the signer are taken together on the loop, so a
    stop that cancels a check between the two cannot leave `active` naming a key the signer
    does not use."""
    watcher, signer, _ = _watcher(tmp_path)
    old = watcher.active
    rotation.rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW)
    found = await asyncio.to_thread(watcher.poll)  # as check() does, then cancelled
    assert found is not None and found[0].kid != old.kid
    assert watcher.active.kid == old.kid
    assert _header((await signer.issue(CLAIMS)).jwt)["kid"] == old.kid


def test_stamp_changes_when_a_file_is_replaced(tmp_path: Path) -> None:
    load_or_create_keyring(tmp_path, "ES256", "libtrust", now=NOW)
    before = stamp(tmp_path)
    assert stamp(tmp_path) == before
    rotation.rotate_keyring(tmp_path, "ES256", "libtrust", now=NOW)
    assert stamp(tmp_path) != before
