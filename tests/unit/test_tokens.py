"""Access-token strings: round trip, checksum, and rejection before any lookup."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.tokens import (
    BODY_LENGTH,
    LEAK_PATTERN,
    SCANNER_PATTERN,
    AccessToken,
    TokenKind,
    hash_secret,
    looks_like_token,
    parse_token,
    secret_matches,
)
from regauth.errors import MalformedToken


def test_generated_token_parses_back_to_itself() -> None:
    token = AccessToken.generate(TokenKind.PERSONAL)
    text = str(token)
    assert text.startswith("rgp_")
    assert len(text) == 4 + BODY_LENGTH
    assert parse_token(text) == token


def test_secret_has_at_least_160_bits() -> None:
    token = AccessToken.generate(TokenKind.PERSONAL)
    assert len(token.secret) * 5.95 >= 160  # log2(62) ~ 5.954 bits per character


def test_repr_hides_the_secret() -> None:
    token = AccessToken.generate(TokenKind.PERSONAL)
    assert token.secret not in repr(token)
    assert "***" in repr(token)


def test_scanner_pattern_matches_tokens_only() -> None:
    token = str(AccessToken.generate(TokenKind.PERSONAL))
    assert re.search(SCANNER_PATTERN, f"export TOKEN={token}\n")
    assert not re.search(SCANNER_PATTERN, "rgp_" + "a" * (BODY_LENGTH - 1))


@pytest.mark.parametrize(
    "mutate",
    [
        lambda t: t[:-1] + ("A" if t[-1] != "A" else "B"),  # checksum off by one char
        lambda t: t[:10] + ("x" if t[10] != "x" else "y") + t[11:],  # body changed
        lambda t: t[:-1],  # too short
        lambda t: t + "0",  # too long
        lambda t: t[:20] + "-" + t[21:],  # outside the alphabet
        lambda t: "rgx_" + t[4:],  # unknown prefix
    ],
)
def test_tampered_tokens_are_malformed(mutate: object) -> None:
    token = str(AccessToken.generate(TokenKind.PERSONAL))
    with pytest.raises(MalformedToken):
        parse_token(mutate(token))  # type: ignore[operator]


@given(st.text(max_size=80))
def test_arbitrary_text_never_parses_unless_wellformed(text: str) -> None:
    try:
        parsed = parse_token(text)
    except MalformedToken:
        return
    assert str(parsed) == text


def test_looks_like_token_is_prefix_based() -> None:
    assert looks_like_token("rgp_anything")
    assert not looks_like_token("hunter2-password")


def test_keyed_hash_depends_on_key_and_compares_in_constant_time() -> None:
    key1, key2 = b"k" * 32, b"j" * 32
    stored = hash_secret(key1, "s3cret")
    assert secret_matches(key1, "s3cret", stored)
    assert not secret_matches(key1, "s3creT", stored)
    assert not secret_matches(key2, "s3cret", stored)


def test_the_published_pattern_is_the_one_in_the_readme() -> None:
    readme = (Path(__file__).parents[2] / "README.md").read_text()
    assert f"`{SCANNER_PATTERN}`" in readme


@pytest.mark.parametrize("kind", list(TokenKind))
def test_both_patterns_know_every_kind(kind: TokenKind) -> None:
    token = str(AccessToken.generate(kind))
    assert re.fullmatch(SCANNER_PATTERN, token)
    assert re.fullmatch(LEAK_PATTERN, token)
    assert re.fullmatch(LEAK_PATTERN, token[:-6])  # cut short, it still holds the secret
