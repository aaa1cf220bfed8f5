"""The webhook's signature: HMAC-SHA256 over the timestamp and the body, as a receiver checks it.

A receiver recomputes `v1=` + hex(HMAC-SHA256(key, f"{timestamp}." + body)) from the raw body
and the `X-Regauth-Timestamp` header, compares it in constant time with `X-Regauth-Signature`,
and refuses a timestamp far from its own clock (a replayed delivery). The timestamp is signed
with the body, so an old body cannot be sent again under a new time.
"""

from __future__ import annotations

import hashlib
import hmac

SIGNATURE = "X-Regauth-Signature"
TIMESTAMP = "X-Regauth-Timestamp"
EVENT = "X-Regauth-Event"
DELIVERY = "X-Regauth-Delivery"
VERSION = "v1"
# What a receiver should allow between the timestamp and its own clock.
TOLERANCE_SECONDS = 300


def signature(key: bytes, timestamp: int, body: bytes) -> str:
    mac = hmac.new(key, f"{timestamp}.".encode() + body, hashlib.sha256)
    return f"{VERSION}={mac.hexdigest()}"


def headers(
    key: bytes, *, event: str, delivery: str, timestamp: int, body: bytes
) -> dict[str, str]:
    return {
        "Content-Type": "application/json",
        EVENT: event,
        DELIVERY: delivery,
        TIMESTAMP: str(timestamp),
        SIGNATURE: signature(key, timestamp, body),
    }


def verify(
    key: bytes,
    *,
    timestamp: str | None,
    signed: str | None,
    body: bytes,
    now: float,
    tolerance: int = TOLERANCE_SECONDS,
) -> bool:
    """What a receiver does (the tests' receiver does exactly this)."""
    if not timestamp or not signed or not timestamp.isdigit():
        return False
    if abs(now - int(timestamp)) > tolerance:
        return False
    return hmac.compare_digest(signature(key, int(timestamp), body), signed)
