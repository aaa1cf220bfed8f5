"""A serving process signs with the key the key directory names, within a second of a change.

Why the files and not a database row with a notification: the key directory is already the
one thing every process and replica must share (the private key has to be read from it
anyway), it is the same on SQLite and PostgreSQL, and it works on a read-only mount (a
Kubernetes Secret is updated in place, atomically). The check is three stat() calls a
second on a background task, never on the /token path; a key is re-read only when a stamp
changed, and used only if the published files trust it (else the old one keeps signing and
the refusal is logged).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable
from pathlib import Path

from regauth import logs
from regauth.errors import RegauthError
from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import TokenSigner
from regauth.signing.keys import BUNDLE_FILE, JWKS_FILE, KEY_FILE, KeyRing, SigningKey

log = logging.getLogger("regauth.keys")
WATCH_INTERVAL_SECONDS = 1.0
# The signing key (replaced by `regauth keys activate` and `rotate`), and what the registry
# reads (a key refused for not being published is taken once they change).
_WATCHED = (KEY_FILE, BUNDLE_FILE, JWKS_FILE)

Stamp = tuple[tuple[int, int, int] | None, ...]


def stamp(directory: Path) -> Stamp:
    """What changes when one of the watched files is replaced (rename or a Secret's swap)."""
    found: list[tuple[int, int, int] | None] = []
    for name in _WATCHED:
        try:
            st = os.stat(directory / name)
        except OSError:
            found.append(None)
        else:
            found.append((st.st_ino, st.st_mtime_ns, st.st_size))
    return tuple(found)


class KeyWatcher:
    """Swaps the signer of `signer` when the directory's signing key changes."""

    def __init__(
        self,
        directory: Path,
        signer: BatchSigner,
        active: SigningKey,
        *,
        load: Callable[[], KeyRing],
        unpublished: Callable[[SigningKey], list[str]],
        make_signer: Callable[[SigningKey], TokenSigner],
        interval: float = WATCH_INTERVAL_SECONDS,
    ) -> None:
        self._directory = directory
        self._signer = signer
        self._active = active
        self._load = load
        self._unpublished = unpublished
        self._make_signer = make_signer
        self._interval = interval
        self._stamp = stamp(directory)
        self._task: asyncio.Task[None] | None = None

    @property
    def active(self) -> SigningKey:
        return self._active

    def poll(self) -> tuple[SigningKey, TokenSigner] | None:
        """A new signing key and its signer, if the files name one that is published; blocking
        (file reads), so run in a thread. Nothing changes here: `check` takes the key on the
        loop, so `active` and the signer always agree (a check cancelled between the two, at
        shutdown, switches neither)."""
        current = stamp(self._directory)
        if current == self._stamp:
            return None
        self._stamp = current
        try:
            ring = self._load()
        except Exception as exc:  # mid-change or damaged: keep signing, retry on the next change
            # Our own errors say which file and why, never its content; another exception's
            # text (a parser's) could quote the key file, so only its type is logged.
            cause = exc.message if isinstance(exc, RegauthError) else type(exc).__name__
            logs.event(log, logging.ERROR, "signing_key_reload_failed", cause=cause)
            return None
        key = ring.active
        if key.certificate == self._active.certificate:
            return None
        problems = self._unpublished(key)
        if problems:
            # Tokens of this key would be refused: keep the old key, which is still trusted.
            logs.event(
                log, logging.ERROR, "signing_key_not_published", kid=key.kid, problems=problems
            )
            return None
        logs.event(
            log,
            logging.INFO,
            "signing_key_changed",
            key=key.log_id,
            algorithm=key.algorithm,
            previous_key=self._active.log_id,
        )
        return key, self._make_signer(key)

    async def check(self) -> None:
        found = await asyncio.to_thread(self.poll)
        if found is not None:
            self._active, signer = found
            self._signer.replace(signer)  # on the loop, between two tokens

    async def start(self) -> None:
        self._task = asyncio.create_task(self._run())

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await self.check()
            except Exception:  # never let a check end the watching
                log.exception("signing_key_check_failed")
