"""Authorization header parsing: raw header -> credentials, table-driven."""

from __future__ import annotations

import base64

import pytest

from regauth.domain.credentials import Credentials, parse_authorization
from regauth.errors import BadRequest


def basic(text: str) -> str:
    return "Basic " + base64.b64encode(text.encode()).decode()


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, None),  # anonymous
        (basic("alice:s3cret"), Credentials("alice", "s3cret")),
        # split at the first colon: secrets may hold colons
        (basic("alice:a:b:c"), Credentials("alice", "a:b:c")),
        # empty username: containerd's identity-token form ":<token>"
        (basic(":tok"), Credentials("", "tok")),
        ("basic " + base64.b64encode(b"bob:pw").decode(), Credentials("bob", "pw")),
        (basic("zoë:pässword"), Credentials("zoë", "pässword")),
    ],
)
def test_parse_authorization(header: str | None, expected: Credentials | None) -> None:
    assert parse_authorization(header) == expected


@pytest.mark.parametrize(
    "header",
    [
        "Bearer abc",  # wrong scheme at the token endpoint
        "Basic",  # nothing to decode  (b64 of "" has no colon)
        "Basic !!!notbase64",
        basic("no-colon-here"),
        "Basic " + base64.b64encode(b"\xff\xfe:x").decode(),  # not UTF-8
        basic("a" * 300 + ":x"),  # username too long
        basic("ali\nce:x"),  # control character
        "Basic " + "A" * 5000,  # header too long
        "Basic \u00e4",  # b"Basic \xc3\xa4": base64 is ASCII (b64decode raised ValueError)
        "Basic \udcff\udcfe",  # b"Basic \xff\xfe", as aiohttp hands bytes that are not UTF-8
    ],
)
def test_malformed_headers_are_bad_requests(header: str) -> None:
    with pytest.raises(BadRequest):
        parse_authorization(header)


def test_repr_never_shows_the_secret() -> None:
    assert "s3cret" not in repr(Credentials("alice", "s3cret"))
