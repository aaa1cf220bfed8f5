"""Spans of time (`7d`, `12h`): parsed strictly, printed in their largest exact unit."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.durations import format_duration, parse_duration
from regauth.errors import BadRequest


@pytest.mark.parametrize(
    ("text", "seconds"),
    [
        ("0", 0),
        ("45s", 45),
        ("30m", 1800),
        ("12h", 43200),
        ("7d", 604800),
        (" 90d ", 7776000),  # surrounding spaces are a typing slip, not a different value
        ("0d", 0),
    ],
)
def test_a_span_is_read_in_seconds(text: str, seconds: int) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize(
    "text",
    [
        "",
        "90",  # days or seconds? a unit is required
        "7 d",
        "7D",
        "-1d",
        "1.5h",
        "07d",
        "1w",
        "d",
        "1d2h",
        "1234567890d",  # ten digits: a typing slip, whatever the unit
        "٣d",  # a digit, but not an ASCII one
    ],
)
def test_anything_else_is_a_400_that_says_what_is_expected(text: str) -> None:
    with pytest.raises(BadRequest, match=r"grace_period must be a number with a unit"):
        parse_duration(text, name="grace_period")


def test_a_span_past_the_most_allowed_is_refused_with_it() -> None:
    assert parse_duration("7d", most=7 * 86400) == 7 * 86400
    with pytest.raises(BadRequest, match="at most 7d"):
        parse_duration("169h", name="grace", most=7 * 86400)


@pytest.mark.parametrize(
    ("seconds", "text"), [(0, "0"), (59, "59s"), (5400, "90m"), (3600, "1h"), (172800, "2d")]
)
def test_a_span_is_printed_in_its_largest_exact_unit(seconds: int, text: str) -> None:
    assert format_duration(seconds) == text


@given(st.integers(min_value=0, max_value=10**9 - 1))
def test_printing_and_reading_again_gives_the_same_span(seconds: int) -> None:
    assert parse_duration(format_duration(seconds)) == seconds
