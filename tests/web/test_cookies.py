"""The page cookie's envelope: what was signed comes back, anything else is no envelope."""

from __future__ import annotations

import base64
import hashlib
import hmac

import orjson
import pytest

from regauth.web.cookies import CookieSigner, Envelope, fresh

KEY = b"k" * 32


def _signed(payload: object) -> str:
    """A cookie signed with the right key around any payload (what a forger with the key,
    or a bug, could make): the shape is checked after the signature."""
    raw = base64.urlsafe_b64encode(orjson.dumps(payload)).rstrip(b"=").decode()
    key = hmac.digest(KEY, b"regauth web cookies", hashlib.sha256)
    mac = base64.urlsafe_b64encode(hmac.digest(key, raw.encode(), hashlib.sha256)).rstrip(b"=")
    return f"{raw}.{mac.decode()}"


def test_an_envelope_round_trips() -> None:
    signer = CookieSigner(KEY)
    envelope = Envelope(nonce="n", seen=5, session="secret")
    assert signer.load(signer.dump(envelope)) == envelope
    assert signer.load(signer.dump(fresh(7))) is not None


def test_another_key_does_not_verify() -> None:
    assert CookieSigner(b"x" * 32).load(CookieSigner(KEY).dump(fresh(1))) is None


@pytest.mark.parametrize(
    "value",
    [
        None,
        "",
        "é.é",  # not ASCII
        "no-dot",
        "!!!.???",  # not base64
        _signed(["n", "5", None]),  # seen not an integer
        _signed(["n", 5, 7]),  # session not text
        _signed([1, 5, None]),  # nonce not text
        _signed(["n", 5, "jwt", ""]),  # an older shape (an API session JWT and a fingerprint)
        _signed({"nonce": "n"}),
    ],
)
def test_anything_else_is_no_envelope(value: str | None) -> None:
    assert CookieSigner(KEY).load(value) is None


def test_the_csrf_token_belongs_to_its_envelope() -> None:
    signer = CookieSigner(KEY)
    one, other = fresh(1), fresh(1)
    token = signer.csrf_token(one)
    assert signer.csrf_ok(one, token)
    assert not signer.csrf_ok(other, token)
    assert not signer.csrf_ok(None, token)
    assert not signer.csrf_ok(one, "é")
