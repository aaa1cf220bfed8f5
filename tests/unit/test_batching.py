"""Batched signing: concurrent requests signed together, each with its own valid signature."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime
from typing import Any

import jwt
import pytest

from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import IssuedToken, TokenClaims, TokenSigner, UnsignedToken
from regauth.signing.keys import generate_signing_key

KEY = generate_signing_key("ES256", "libtrust", now=datetime.now(UTC))
NOW = 1_800_000_000.0


class CountingSigner(TokenSigner):
    """The real signer, recording which loop turn each signature was made in."""

    __slots__ = ("fail_subject", "turns")

    def __init__(self) -> None:
        super().__init__(KEY, include_x5c=True)
        self.turns: list[int] = []
        self.fail_subject: str | None = None

    def sign(self, token: UnsignedToken) -> IssuedToken:
        if self.fail_subject is not None and f'"sub":"{self.fail_subject}"'.encode() in (
            jwt.utils.base64url_decode(token.signing_input.split(b".")[1])
        ):
            raise ValueError("signing failed")
        self.turns.append(TURN[0])
        return super().sign(token)


TURN = [0]


async def _ticker() -> None:
    while True:
        TURN[0] += 1
        await asyncio.sleep(0)


def _claims(subject: str) -> TokenClaims:
    return TokenClaims(
        issuer="regauth",
        subject=subject,
        audience="registry",
        access=[{"type": "repository", "name": f"{subject}/app", "actions": ["pull"]}],
        now=NOW,
        ttl=300,
    )


def _verify(token: str) -> dict[str, Any]:
    return jwt.decode(
        token,
        KEY.certificate.public_key(),  # type: ignore[arg-type]
        algorithms=["ES256"],
        audience="registry",
        options={"verify_exp": False, "verify_nbf": False, "verify_iat": False},
    )


async def test_concurrent_requests_are_signed_in_one_turn_each_their_own_token() -> None:
    signer = CountingSigner()
    batch = BatchSigner(signer)
    ticker = asyncio.create_task(_ticker())
    try:
        issued = await asyncio.gather(*(batch.issue(_claims(f"u{i}")) for i in range(10)))
    finally:
        ticker.cancel()
    assert len(set(signer.turns)) == 1  # one batch
    claims = [_verify(token.jwt) for token in issued]
    assert [c["sub"] for c in claims] == [f"u{i}" for i in range(10)]  # each caller its own
    assert len({c["jti"] for c in claims}) == 10


async def test_a_burst_larger_than_a_batch_takes_several_turns_and_loses_nobody() -> None:
    signer = CountingSigner()
    batch = BatchSigner(signer, max_batch=4)
    ticker = asyncio.create_task(_ticker())
    try:
        issued = await asyncio.gather(*(batch.issue(_claims(f"u{i}")) for i in range(10)))
    finally:
        ticker.cancel()
    assert len(issued) == 10
    assert len(set(signer.turns)) == 3  # 4 + 4 + 2
    assert max(signer.turns.count(t) for t in set(signer.turns)) == 4


async def test_one_failure_fails_only_its_own_request() -> None:
    signer = CountingSigner()
    signer.fail_subject = "bad"
    batch = BatchSigner(signer)
    results = await asyncio.gather(
        batch.issue(_claims("good1")),
        batch.issue(_claims("bad")),
        batch.issue(_claims("good2")),
        return_exceptions=True,
    )
    assert isinstance(results[1], ValueError)
    assert [_verify(r.jwt)["sub"] for r in results if isinstance(r, IssuedToken)] == [
        "good1",
        "good2",
    ]


async def test_a_request_cancelled_while_waiting_is_skipped() -> None:
    signer = CountingSigner()
    batch = BatchSigner(signer)
    gone = asyncio.create_task(batch.issue(_claims("gone")))
    await asyncio.sleep(0)  # it is now waiting for the batch
    gone.cancel()
    kept = await batch.issue(_claims("kept"))
    with pytest.raises(asyncio.CancelledError):
        await gone
    assert _verify(kept.jwt)["sub"] == "kept"
    assert len(signer.turns) == 1


async def test_a_small_batch_waits_a_turn_for_requests_read_meanwhile() -> None:
    signer = CountingSigner()
    batch = BatchSigner(signer)
    ticker = asyncio.create_task(_ticker())
    try:
        first = asyncio.create_task(batch.issue(_claims("first")))
        await asyncio.sleep(0)  # first is waiting; the next poll brings another request
        second = asyncio.create_task(batch.issue(_claims("second")))
        await asyncio.gather(first, second)
    finally:
        ticker.cancel()
    assert len(signer.turns) == 2 and len(set(signer.turns)) == 1
