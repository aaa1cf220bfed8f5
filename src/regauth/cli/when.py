"""WHEN arguments (`--since`, `--last-used-before`, ...): an RFC 3339 time, a date, or `Nd` ago."""

from __future__ import annotations

import argparse
import re
from dataclasses import dataclass
from datetime import UTC, datetime

_DAYS_AGO = re.compile(r"(0|[1-9][0-9]{0,4})d")
_DATE_TIME = re.compile(
    r"\d{4}-\d{2}-\d{2}"
    r"(?:[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d{1,9})?)?(?:[Zz]|[+-]\d{2}:\d{2})?)?"
)
HELP = "WHEN is an RFC 3339 time, a date YYYY-MM-DD (midnight UTC), or Nd for N days ago"


@dataclass(frozen=True, slots=True)
class When:
    """A moment named on the command line; `Nd` is resolved against the command's clock."""

    at: int | None = None
    days_ago: int = 0

    def resolve(self, now: float) -> int:
        return self.at if self.at is not None else int(now) - self.days_ago * 86400


def parse_when(text: str) -> When:
    """argparse type: a malformed WHEN is a usage error (exit 2), caught before any work."""
    value = text.strip()
    days = _DAYS_AGO.fullmatch(value)
    if days:
        return When(days_ago=int(days.group(1)))
    if _DATE_TIME.fullmatch(value):
        # fromisoformat takes 6 fraction digits at most; sub-second precision is dropped anyway.
        iso = re.sub(r"(\.\d+)", "", value).upper().replace("Z", "+00:00")
        try:
            moment = datetime.fromisoformat(iso)
        except ValueError:
            pass  # e.g. month 13: falls through to the same message
        else:
            if moment.tzinfo is None:  # a bare date or local-looking time is taken as UTC
                moment = moment.replace(tzinfo=UTC)
            return When(at=int(moment.timestamp()))
    raise argparse.ArgumentTypeError(f"invalid WHEN {text!r}: {HELP}")
