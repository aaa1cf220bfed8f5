"""Signing in batches: the tokens of the requests that reach signing in the same event-loop
turns are signed back to back, each with its own fresh signature.

An ES256 signature costs ~25 µs in a tight loop but ~60 µs inside the running server when
each one follows a whole request's worth of other work: OpenSSL's P-256 tables and code fall
out of the CPU caches in between (an inference, not measured directly: RS256 costs inside the
server what it costs in a tight loop, ES256 about 2.5 times as much). Under load many requests reach signing
in the same turn; signing them together keeps the caches warm (bench/run.py: /token went
from ~220 to ~130 µs of CPU per request). A small batch waits one more turn, so requests
read by the next poll can join it; a lone request waits two turns, microseconds.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from regauth.signing.jwt import IssuedToken, TokenClaims, TokenSigner, UnsignedToken

# Below this many waiting tokens, wait one more turn for others to join.
SMALL_BATCH = 8
# Signatures per turn at most, so a burst cannot hold the loop for long (~2 ms).
MAX_BATCH = 64


class BatchSigner:
    def __init__(
        self,
        signer: TokenSigner,
        *,
        max_batch: int = MAX_BATCH,
        on_batch: Callable[[int], None] | None = None,
    ) -> None:
        self._signer = signer
        self._max = max_batch
        self._on_batch = on_batch  # told each batch's size (the /metrics histogram)
        # Each token with the signer that prepared it: its header names that signer's key.
        self._waiting: list[tuple[TokenSigner, UnsignedToken, asyncio.Future[IssuedToken]]] = []

    def replace(self, signer: TokenSigner) -> None:
        """Sign with `signer` from the next token on (a new signing key, reloading.py)."""
        self._signer = signer

    async def issue(self, claims: TokenClaims) -> IssuedToken:
        signer = self._signer
        unsigned = signer.prepare(claims)
        loop = asyncio.get_running_loop()
        signed: asyncio.Future[IssuedToken] = loop.create_future()
        if not self._waiting:
            loop.call_soon(self._sign_soon, loop)
        self._waiting.append((signer, unsigned, signed))
        return await signed

    def _sign_soon(self, loop: asyncio.AbstractEventLoop) -> None:
        if len(self._waiting) >= SMALL_BATCH:
            self._sign_waiting(loop)
        else:
            loop.call_soon(self._sign_waiting, loop)

    def _sign_waiting(self, loop: asyncio.AbstractEventLoop) -> None:
        batch, self._waiting = self._waiting[: self._max], self._waiting[self._max :]
        if self._waiting:
            loop.call_soon(self._sign_waiting, loop)
        if self._on_batch is not None:
            self._on_batch(len(batch))
        for signer, unsigned, signed in batch:
            if signed.cancelled():  # the client went away while it waited
                continue
            try:
                signed.set_result(signer.sign(unsigned))
            except Exception as exc:  # one bad token fails its own request, not the batch
                signed.set_exception(exc)
