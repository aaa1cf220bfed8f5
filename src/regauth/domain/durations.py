"""Spans of time as regauth's options write them: `7d`, `12h`, `30m`, `45s`, or `0`."""

from __future__ import annotations

import re

from regauth.errors import BadRequest

_DURATION = re.compile(r"(0|[1-9][0-9]{0,8})([dhms])?")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}
HELP = "a number with a unit: 7d (days), 12h (hours), 30m (minutes), 45s (seconds), or 0"


def parse_duration(text: str, *, name: str = "duration", most: int | None = None) -> int:
    """Seconds; a unit is required but for 0 (a bare `90` could mean days or seconds)."""
    match = _DURATION.fullmatch(text.strip())
    if match is None or (match.group(2) is None and match.group(1) != "0"):
        raise BadRequest(f"{name} must be {HELP}, got {text[:40]!r}")
    seconds = int(match.group(1)) * _UNITS[match.group(2) or "s"]
    if most is not None and seconds > most:
        raise BadRequest(f"{name} must be at most {format_duration(most)}")
    return seconds


def format_duration(seconds: int) -> str:
    """The largest unit that divides `seconds` exactly: 604800 -> `7d`, 5400 -> `90m`."""
    if seconds == 0:
        return "0"
    for unit, size in _UNITS.items():
        if seconds % size == 0:
            return f"{seconds // size}{unit}"
    raise AssertionError("unreachable: 1 divides everything")  # pragma: no cover
