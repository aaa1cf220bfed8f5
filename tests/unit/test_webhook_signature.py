"""The webhook's signature, as a receiver checks it: the key, the body and the timestamp are all
bound by it, and an old delivery cannot be replayed."""

from __future__ import annotations

import hashlib
import hmac

import pytest

from regauth.domain import webhooks

KEY = b"receiver-and-regauth-share-this"
BODY = b'{"event":"token.expiring","id":"n-1"}'
AT = 1_800_000_000


def test_the_signature_is_hmac_sha256_of_timestamp_dot_body() -> None:
    # What the README tells receivers to compute, written out here independently.
    expected = hmac.new(KEY, b"1800000000." + BODY, hashlib.sha256).hexdigest()
    assert webhooks.signature(KEY, AT, BODY) == f"v1={expected}"


def test_the_headers_carry_event_delivery_timestamp_and_signature() -> None:
    headers = webhooks.headers(KEY, event="token.expired", delivery="n-1", timestamp=AT, body=BODY)
    assert headers == {
        "Content-Type": "application/json",
        "X-Regauth-Event": "token.expired",
        "X-Regauth-Delivery": "n-1",
        "X-Regauth-Timestamp": "1800000000",
        "X-Regauth-Signature": webhooks.signature(KEY, AT, BODY),
    }


GOOD = webhooks.signature(KEY, AT, BODY)


@pytest.mark.parametrize(
    ("key", "timestamp", "signed", "body", "now", "ok"),
    [
        (KEY, "1800000000", GOOD, BODY, AT, True),
        (KEY, "1800000000", GOOD, BODY, AT + 300, True),  # within the tolerance
        (KEY, "1800000000", GOOD, BODY, AT + 301, False),  # a replay, later
        (KEY, "1800000000", GOOD, BODY, AT - 301, False),  # from the future
        (b"another key", "1800000000", GOOD, BODY, AT, False),
        (KEY, "1800000000", GOOD, BODY + b" ", AT, False),  # the body changed
        (KEY, "1800000001", GOOD, BODY, AT, False),  # the timestamp changed
        (KEY, "1800000000", GOOD.replace("v1=", "v2="), BODY, AT, False),
        (KEY, "1800000000", GOOD.upper(), BODY, AT, False),
        (KEY, None, GOOD, BODY, AT, False),
        (KEY, "1800000000", None, BODY, AT, False),
        (KEY, "-1", GOOD, BODY, AT, False),
        (KEY, "18e8", GOOD, BODY, AT, False),
    ],
)
def test_a_receiver_accepts_only_an_untouched_recent_delivery(
    key: bytes, timestamp: str | None, signed: str | None, body: bytes, now: int, ok: bool
) -> None:
    assert webhooks.verify(key, timestamp=timestamp, signed=signed, body=body, now=now) is ok
