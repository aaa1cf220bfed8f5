"""Names compared without case, ASCII letters only: a look-alike character is another name."""

from __future__ import annotations

import pytest

from regauth.domain import caseless


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        ("developers", "developers", True),
        ("Developers", "DEVELOPERS", True),
        ("platform-admins", "Platform-Admins", True),
        ("platform-admin\u017f", "platform-admins", False),  # U+017F LONG S casefolds to "s"
        ("\u212aeys", "keys", False),  # KELVIN SIGN lowers to "k"
        ("\ufb01nance", "finance", False),  # U+FB01 LIGATURE FI casefolds to "fi"
        ("Développeurs", "développeurs", False),  # not ASCII: exactly, or not at all
        ("développeurs", "développeurs", True),
        ("", "", True),
    ],
)
def test_only_ascii_letters_compare_without_case(a: str, b: str, same: bool) -> None:
    assert (caseless.key(a) == caseless.key(b)) is same
