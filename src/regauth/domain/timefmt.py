"""Times as regauth speaks them: epoch seconds inside, RFC 3339 UTC outside, expiry shorthands."""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime, timedelta
from typing import overload

from regauth.errors import BadRequest

_DAYS = re.compile(r"([1-9][0-9]{0,4})d")


@overload
def rfc3339(epoch: float) -> str: ...
@overload
def rfc3339(epoch: float | None) -> str | None: ...
def rfc3339(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return _rfc3339(int(epoch))


@functools.lru_cache(maxsize=8)  # /token asks for the same second thousands of times
def _rfc3339(epoch: int) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def parse_expiry(text: str, *, now: float) -> int | None:
    """'none', 'Nd' (days from now), a date (midnight UTC) or an RFC 3339 time; must be in the future."""
    value = text.strip()
    if value.lower() in ("none", "never"):
        return None
    match = _DAYS.fullmatch(value)
    if match:
        return int(now) + int(match.group(1)) * 86400
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise BadRequest(
            "expiration must be 'none', a number of days like '30d', a date YYYY-MM-DD "
            "or an RFC 3339 time"
        ) from None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    expires = int(moment.timestamp())
    if expires <= now:
        raise BadRequest("expiration must be in the future")
    if moment - datetime.fromtimestamp(now, UTC) > timedelta(days=36500):
        raise BadRequest("expiration is too far in the future")
    return expires
