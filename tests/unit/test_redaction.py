"""Credentials out of log text: raw text -> what is logged, table-driven."""

from __future__ import annotations

import base64

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.redaction import scrub, scrub_message, scrub_value
from regauth.domain.tokens import AccessToken, TokenKind

PAT = str(AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12"))
SESSION = str(AccessToken(TokenKind.SESSION, "SeSsIoN001", "x" * 32))
ORG = str(AccessToken(TokenKind.ORGANIZATION, "OrGtOkEn01", "y" * 32))
ADMIN = str(AccessToken(TokenKind.ADMIN_KEY, "AdMiNkEy01", "z" * 32))
# {"alg":"HS256","typ":"JWT"}.{"sub":"alice","exp":1700000000}.<signature>
JWT = (
    "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9"
    ".eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0"
    ".c2lnbmF0dXJlLXNpZ25hdHVyZQ-_x"
)


def b64(text: str) -> str:
    return base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        ("/token", "/token"),
        ("/v2/orgs/acme/access-tokens", "/v2/orgs/acme/access-tokens"),
        ("repository:alice/app:pull,push", "repository:alice/app:pull,push"),
        # a whole token: its kind and public id stay (which token leaked), the secret goes
        (f"/admin/v1/tokens/{PAT}", "/admin/v1/tokens/rgp_AbC123xYz0<redacted>"),
        (
            f"/v2/orgs/acme/access-tokens/{ORG}",
            "/v2/orgs/acme/access-tokens/rgo_OrGtOkEn01<redacted>",
        ),
        (f"refresh {SESSION}", "refresh rgs_SeSsIoN001<redacted>"),
        (f"Bearer {ADMIN}", "Bearer rga_AdMiNkEy01<redacted>"),
        (f"repository:{PAT}:pull", "repository:rgp_AbC123xYz0<redacted>:pull"),
        # glued to other text: no word boundary, and still found
        (f"x{PAT}", "xrgp_AbC123xYz0<redacted>"),
        (f"id_{PAT}", "id_rgp_AbC123xYz0<redacted>"),
        (f"{PAT}tail", "rgp_AbC123xYz0<redacted>"),
        (f"{PAT}{PAT}", "rgp_AbC123xYz0<redacted>"),  # the second prefix is inside the first run
        (f"{PAT}_{SESSION}", "rgp_AbC123xYz0<redacted>"),
        (f"rgp_{'a' * 11}_per_user", "rgp_<redacted>"),
        # not a whole token (cut short, a wrong checksum): nothing of it is kept
        (PAT[:-6], "rgp_<redacted>"),  # without its checksum: the whole secret
        (PAT[:20], "rgp_<redacted>"),
        (PAT[:-1] + ("A" if PAT[-1] != "A" else "B"), "rgp_<redacted>"),
        ("rgp_" + "a" * 11, "rgp_<redacted>"),
        (PAT.upper(), "RGP_<redacted>"),  # aiohttp quotes a bad method upper-cased
        # a public id alone, and the look-alikes of ordinary text, are left as they are
        ("rgp_AbC123xYz0", "rgp_AbC123xYz0"),
        ("orgs_per_user", "orgs_per_user"),
        ("build_bot/app", "build_bot/app"),
        ("rgx_" + "a" * 48, "rgx_" + "a" * 48),
        # JWTs: signed, cut before the signature, alg "none" (empty signature)
        (f"/v2/access-tokens/{JWT}", "/v2/access-tokens/<redacted jwt>"),
        (f"Bearer {JWT}", "Bearer <redacted jwt>"),
        (JWT.rsplit(".", 1)[0], "<redacted jwt>"),
        ("eyJhbGciOiJub25lIn0.eyJzdWIiOiJhIn0.", "<redacted jwt>"),
        (f"token={JWT}&x=1", "token=<redacted jwt>&x=1"),
        ("eyJ alone", "eyJ alone"),
        ("v1.2.3", "v1.2.3"),
        # a token-shaped run inside a JWT does not cut the JWT in two
        (f"{JWT}rgp_{'a' * 20}", "<redacted jwt>"),
    ],
)
def test_scrub(raw: str, logged: str) -> None:
    assert scrub(raw) == logged
    assert scrub_message(raw) == logged


@pytest.mark.parametrize(
    ("raw", "logged"),
    [
        # aiohttp's parser error quoting a bad header line: base64 of "alice:<PAT>"
        (
            f"Invalid header value char: b'Authorization: Basic {b64('alice:' + PAT)}\\x01'",
            "Invalid header value char: b'Authorization: Basic <redacted base64>\\x01'",
        ),
        (f"Basic {b64('alice:hunter2-password')}", "Basic <redacted base64>"),
        (f"{b64('ab:cdefgh')} and more", "<redacted base64> and more"),  # YWI6Y2RlZmdo
        # a header too long: the value glued to what followed it
        (f"b'Basic {b64('alice:' + PAT)}AAAAAAAAAAAA'", "b'Basic <redacted base64>AAAAAAAAAAAA'"),
        # base64 that is not user:secret, and ordinary long words, are left
        (f"digest {b64('no colon in here')}", f"digest {b64('no colon in here')}"),
        ("sha256:0123456789abcdef0123456789abcdef", "sha256:0123456789abcdef0123456789abcdef"),
        ("authentication failed for /v2/orgs/acme", "authentication failed for /v2/orgs/acme"),
        (b64("a:\x00\x01binary12"), b64("a:\x00\x01binary12")),  # not printable: not a credential
    ],
)
def test_scrub_message_also_takes_basic_credentials(raw: str, logged: str) -> None:
    assert scrub_message(raw) == logged


def test_scrub_value_goes_into_fields() -> None:
    fields = {
        "sub": "alice",
        "rejected": [f"repository:{PAT}:pull: bad scope", 3],
        "nested": {"auth": f"Bearer {JWT}", PAT: None},
        "pair": (PAT, "ok"),
        "count": 2,
    }
    assert scrub_value(fields) == {
        "sub": "alice",
        "rejected": ["repository:rgp_AbC123xYz0<redacted>:pull: bad scope", 3],
        "nested": {"auth": "Bearer <redacted jwt>", "rgp_AbC123xYz0<redacted>": None},
        "pair": ["rgp_AbC123xYz0<redacted>", "ok"],
        "count": 2,
    }


@given(
    st.sampled_from(list(TokenKind)),
    st.text(max_size=30),
    st.text(max_size=30),
)
def test_no_token_survives_whatever_surrounds_it(kind: TokenKind, before: str, after: str) -> None:
    token = AccessToken.generate(kind)
    logged = scrub_message(f"{before}{token}{after}")
    assert token.secret not in logged
    assert str(token)[:-6] not in logged


@given(st.text(alphabet=st.characters(blacklist_characters="_"), max_size=200))
def test_text_without_an_underscore_or_eyj_is_left_as_it_is(text: str) -> None:
    # logs._access_lines asks this before calling scrub() at all
    if "eyJ" not in text:
        assert scrub(text) is text


@given(st.text(max_size=120))
def test_scrubbing_twice_changes_nothing_more(text: str) -> None:
    once = scrub_message(text)
    assert scrub_message(once) == once
