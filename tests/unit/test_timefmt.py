"""Expiry shorthands and RFC 3339 output."""

from __future__ import annotations

import pytest

from regauth.domain.timefmt import parse_expiry, rfc3339
from regauth.errors import BadRequest

NOW = 1_800_000_000  # 2027-01-15T08:00:00Z


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("none", None),
        ("never", None),
        ("30d", NOW + 30 * 86400),
        ("90d", NOW + 90 * 86400),
        ("2027-02-01", 1_801_440_000),
        ("2027-02-01T12:00:00Z", 1_801_483_200),
        ("2027-02-01T13:00:00+01:00", 1_801_483_200),
    ],
)
def test_parse_expiry(text: str, expected: int | None) -> None:
    assert parse_expiry(text, now=NOW) == expected


@pytest.mark.parametrize(
    "text", ["yesterday", "0d", "-5d", "2020-01-01", "3000000-01-01", "9999-01-01"]
)
def test_bad_expiry_is_a_clear_error(text: str) -> None:
    with pytest.raises(BadRequest):
        parse_expiry(text, now=NOW)


def test_rfc3339_is_utc_with_z() -> None:
    assert rfc3339(NOW) == "2027-01-15T08:00:00Z"
    assert rfc3339(None) is None
