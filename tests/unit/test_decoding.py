"""The input boundary's pure decoders: raw input -> value or 4xx, table-driven, with round-trips."""

from __future__ import annotations

import gzip
import zlib
from typing import Any
from urllib.parse import urlencode

import orjson
import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.errors import BadRequest, PayloadTooLarge, RegauthError, UnsupportedMediaType
from regauth.http import decoding


def refused(call: Any, *args: Any, **kwargs: Any) -> RegauthError:
    with pytest.raises(RegauthError) as info:
        call(*args, **kwargs)
    return info.value


@pytest.mark.parametrize(
    ("value", "ascii_only", "expected"),
    [
        (None, True, None),
        ("Basic YWxpY2U6cHc=", True, "Basic YWxpY2U6cHc="),
        ("Basic \u00e4", True, BadRequest),  # b"Basic \xc3\xa4": UTF-8, but not ASCII
        ("Basic \udcff\udcfe", True, BadRequest),  # b"Basic \xff\xfe" as aiohttp hands it over
        ("dock\u00e9r/1.0", False, "dock\u00e9r/1.0"),  # a User-Agent may be UTF-8
        ("docker/\udcff", False, BadRequest),  # ... never bytes that are not
        ("", True, ""),
    ],
)
def test_header_text(value: str | None, ascii_only: bool, expected: Any) -> None:
    if expected is BadRequest:
        assert refused(decoding.header_text, "X", value, ascii_only=ascii_only).status == 400
    else:
        assert decoding.header_text("X", value, ascii_only=ascii_only) == expected


@pytest.mark.parametrize(
    ("value", "ok"),
    [
        ("repository:alice/app:pull", True),
        ("\u00e9", True),  # ?x=%C3%A9
        ("a\ufffdb", False),  # ?x=a%FFb: yarl puts U+FFFD where the escape was not UTF-8
        ("a\x00b", True),  # text, harmless: filters match nothing, scopes are refused
    ],
)
def test_query_text(value: str, ok: bool) -> None:
    if ok:
        assert decoding.query_text("x", value) == value
    else:
        assert refused(decoding.query_text, "x", value).status == 400


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("0", 0),
        ("1000", 1000),
        ("007", 7),
        ("1001", None),  # out of range
        ("-1", None),
        ("+5", None),
        (" 5", None),  # "?limit=+5": the plus is a space
        ("1_0", None),  # int() takes it
        ("\u0661", None),  # ARABIC-INDIC DIGIT ONE: int() takes it
        ("\u00b9", None),  # SUPERSCRIPT ONE: isdigit() says yes, int() no
        ("1e3", None),
        ("", None),
        ("9" * 16, None),  # longer than any epoch second
        ("9" * 5000, None),  # past int()'s 4300-digit limit
    ],
)
def test_parse_int(raw: str, expected: int | None) -> None:
    if expected is None:
        assert refused(decoding.parse_int, "limit", raw, low=0, high=1000).status == 400
    else:
        assert decoding.parse_int("limit", raw, low=0, high=1000) == expected


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("true", True),
        ("True", True),
        ("TRUE", True),
        ("1", True),
        ("t", True),
        ("false", False),
        ("0", False),
        ("F", False),
        ("yes", None),
        ("", None),
        ("maybe", None),
    ],
)
def test_parse_bool(raw: str, expected: bool | None) -> None:
    if expected is None:
        assert refused(decoding.parse_bool, "offline_token", raw).status == 400
    else:
        assert decoding.parse_bool("offline_token", raw) is expected


def test_parse_choice() -> None:
    assert decoding.parse_choice("kind", "auto", {"manual", "auto"}) == "auto"
    error = refused(decoding.parse_choice, "kind", "AAA", {"manual", "auto"})
    assert error.message == "kind must be one of: auto, manual"


FORM = b"grant_type=password&username=alice&password=p%40ss+word"


@pytest.mark.parametrize(
    ("coding", "body", "expected"),
    [
        (None, FORM, FORM),
        ("", FORM, FORM),
        ("identity", FORM, FORM),
        ("gzip", gzip.compress(FORM), FORM),
        ("GZIP", gzip.compress(FORM), FORM),
        ("x-gzip", gzip.compress(FORM), FORM),
        ("deflate", zlib.compress(FORM), FORM),  # RFC 9110: the zlib format
        ("deflate", zlib.compress(FORM)[2:-4], FORM),  # raw deflate, which aiohttp accepted
        ("identity, gzip", gzip.compress(FORM), FORM),
        ("gzip", FORM, BadRequest),  # not gzip at all
        ("gzip", b"", BadRequest),
        ("gzip", gzip.compress(FORM)[:-4], BadRequest),  # truncated
        ("gzip", gzip.compress(FORM) + b"x", BadRequest),  # trailing bytes
        ("deflate", b"\x78\x9cnot deflate", BadRequest),
        ("gzip", gzip.compress(b"a" * 70_000), PayloadTooLarge),  # a zip bomb, in small
        ("br", b"\x0b\x02\x80hi\x03", UnsupportedMediaType),
        ("zstd", b"\x28\xb5\x2f\xfd", UnsupportedMediaType),
        ("compress", FORM, UnsupportedMediaType),
        ("gzip, gzip", gzip.compress(gzip.compress(FORM)), UnsupportedMediaType),
    ],
)
def test_decode_content(coding: str | None, body: bytes, expected: Any) -> None:
    if isinstance(expected, bytes):
        assert decoding.decode_content(body, coding) == expected
    else:
        assert type(refused(decoding.decode_content, body, coding)) is expected


def test_an_unsupported_coding_names_the_supported_ones() -> None:
    error = refused(decoding.decode_content, b"", "br")
    assert error.status == 415
    assert error.headers() == {"Accept-Encoding": "gzip, deflate"}


@pytest.mark.parametrize(
    ("charset", "ok"),
    [(None, True), ("utf-8", True), ("UTF-8", True), ("us-ascii", True), ("utf-16", False), ("foo", False), ("\ufffd", False)],
)  # fmt: skip
def test_check_form_charset(charset: str | None, ok: bool) -> None:
    if ok:
        decoding.check_form_charset(charset)
    else:
        assert refused(decoding.check_form_charset, charset).status == 400


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (FORM, {"grant_type": "password", "username": "alice", "password": "p@ss word"}),
        (b"a=&b", {"a": "", "b": ""}),
        (b"a=1\r\n", {"a": "1"}),  # a trailing newline, as curl -d @file sends
        (b"u=z%C3%B6e", {"u": "z\u00f6e"}),
        (b"", {}),
        (b"u=\xff", "the form is not valid UTF-8"),  # raw bytes
        (b"u=%ff", "the form is not valid UTF-8"),  # escaped: "%ff" and "%fe" were both U+FFFD
        (b"u=%ED%B3%BF", "the form is not valid UTF-8"),  # a surrogate, encoded
        (b"a=1&a=2", "form field 'a' is repeated"),  # RFC 6749 §3.1
        (b"%0A=1&%0A=2", "form field with an unusual name is repeated"),  # not echoed
        (b"&".join(b"f%d=" % i for i in range(33)), "the form has more than 32 fields"),
    ],
)
def test_parse_form(body: bytes, expected: dict[str, str] | str) -> None:
    if isinstance(expected, str):
        assert refused(decoding.parse_form, body).message == expected
    else:
        assert decoding.parse_form(body) == expected


def test_a_form_may_allow_more_fields_when_told() -> None:
    """The pages' organization token form has numbered rows; the API's forms keep 32."""
    body = b"&".join(b"f%d=" % i for i in range(40))
    assert len(decoding.parse_form(body, max_fields=40)) == 40
    assert refused(decoding.parse_form, body, max_fields=39).message == (
        "the form has more than 39 fields"
    )


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (b'{"a": 1}', {"a": 1}),
        (b'\xef\xbb\xbf{"a": 1}', {"a": 1}),  # a BOM may be ignored (RFC 8259 §8.1)
        (b'{"a": "\\u00e9"}', {"a": "\u00e9"}),
        (b'{"a": 123456789012345678901234567890}', {"a": 1.2345678901234568e29}),  # a float
        (b'{"a": ' + b"[" * 15 + b"]" * 15 + b"}", "ok"),  # 16 levels
        (b'{"a": ' + b"[" * 16 + b"]" * 16 + b"}", "request body is nested deeper than 16 levels"),
        (b'{"a": ' * 1000 + b"1" + b"}" * 1000, "request body is nested deeper than 16 levels"),  # RecursionError in the stdlib
        (b"[" * 2000 + b"]" * 2000, "request body is not valid JSON"),  # past orjson's own limit (1024)
        (b'{"a": ' + b"1" * 4301 + b"}", "request body is not valid JSON"),  # int()'s digit limit in the stdlib
        (b'{"a": "\\udcff"}', "request body is not valid JSON"),  # a lone surrogate
        (b'{"a": "\xff"}', "request body is not valid JSON"),
        ('{"a": 1}'.encode("utf-16"), "request body is not valid JSON"),  # the stdlib reads UTF-16
        (b'{"a": NaN}', "request body is not valid JSON"),
        (b'{"a": Infinity}', "request body is not valid JSON"),
        (b'{"a": 1e999}', "request body is not valid JSON"),
        (b"", "request body is not valid JSON"),
        (b"[]", "request body must be a JSON object"),
        (b'"a"', "request body must be a JSON object"),
    ],
)  # fmt: skip
def test_parse_json(body: bytes, expected: dict[str, Any] | str) -> None:
    if expected == "ok":
        decoding.parse_json(body)
    elif isinstance(expected, str):
        assert refused(decoding.parse_json, body).message == expected
    else:
        assert decoding.parse_json(body) == expected


# Round-trips: what a well-behaved client encodes, the boundary gives back unchanged.

_text = st.text(st.characters(exclude_categories=("Cs",)), max_size=40)


@given(st.dictionaries(_text.filter(bool), _text, max_size=decoding.MAX_FORM_FIELDS))
def test_a_form_round_trips(form: dict[str, str]) -> None:
    # (the trailing whitespace parse_form strips is never in an encoded form: " " is "+")
    assert decoding.parse_form(urlencode(form).encode()) == form


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | _text,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(_text, children, max_size=4),
    max_leaves=10,  # at most ~11 levels: under MAX_JSON_DEPTH
)


@given(st.dictionaries(_text, _json, max_size=5))
def test_json_round_trips(body: dict[str, Any]) -> None:
    assert decoding.parse_json(orjson.dumps(body)) == body


@given(st.binary(max_size=2000), st.sampled_from(["gzip", "deflate"]))
def test_content_codings_round_trip(body: bytes, coding: str) -> None:
    encoded = gzip.compress(body) if coding == "gzip" else zlib.compress(body)
    assert decoding.decode_content(encoded, coding) == body


@given(st.binary(max_size=300), st.sampled_from(["gzip", "deflate", "x-gzip"]))
def test_any_bytes_under_a_coding_are_a_value_or_a_4xx(body: bytes, coding: str) -> None:
    status = None
    try:
        decoding.decode_content(body, coding)
    except RegauthError as exc:
        status = exc.status
    assert status is None or 400 <= status < 500
