"""WHEN arguments: raw text -> moment, resolved against a pinned clock."""

from __future__ import annotations

import argparse

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.cli.when import When, parse_when
from regauth.domain.timefmt import rfc3339

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z
DAY = 86400


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0d", NOW),
        ("1d", NOW - DAY),
        ("30d", NOW - 30 * DAY),
        (" 7d ", NOW - 7 * DAY),
        ("2027-01-15", NOW - 8 * 3600),  # a date is midnight UTC
        ("2027-01-15T08:00:00Z", NOW),
        ("2027-01-15t08:00:00z", NOW),
        ("2027-01-15 08:00:00Z", NOW),
        ("2027-01-15T09:00:00+01:00", NOW),
        ("2027-01-15T03:00:00-05:00", NOW),
        ("2027-01-15T08:00:00.999Z", NOW),  # fractions are dropped, not rounded
        ("2027-01-15T08:00:00.123456789Z", NOW),
        ("2027-01-15T08:00Z", NOW),
        ("2027-01-15T08:00:00", NOW),  # no offset: taken as UTC
        ("1970-01-01", 0),
    ],
)
def test_parse_when(text: str, expected: int) -> None:
    assert parse_when(text).resolve(NOW) == expected


@pytest.mark.parametrize(
    "text",
    [
        "",
        "yesterday",
        "now",
        "-1d",
        "1.5d",
        "01d",
        "123456d",
        "7 d",
        "24h",
        "2027-13-01",
        "2027-02-30",
        "2027-1-5",
        "20270115",
        "2027-01-15T25:00:00Z",
        "2027-01-15T08:00:00+1",
        "1800000000",
    ],
)
def test_bad_when_is_a_usage_error(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="invalid WHEN"):
        parse_when(text)


def test_days_ago_follow_the_clock() -> None:
    when = parse_when("2d")
    assert when == When(days_ago=2)
    assert when.resolve(NOW + DAY) - when.resolve(NOW) == DAY


@given(st.integers(min_value=0, max_value=253_402_300_799))  # up to 9999-12-31T23:59:59Z
def test_rfc3339_round_trips(epoch: int) -> None:
    # What regauth prints (created_at, last_used_at, ...) is accepted back as a WHEN.
    text = rfc3339(epoch)
    assert text is not None
    assert parse_when(text).resolve(NOW) == epoch
