"""Strict decoding of what a request carries: header and query text, forms, JSON, content codings.

Every function takes what aiohttp hands over (text it decoded leniently, or raw body bytes) and
returns clean values or raises a 4xx from `errors`; none imports aiohttp. The limits are here,
in one place, so the README and the tests can name them. A JSON object or a query then becomes
its model (`to_model`, `QueryReader`): what does not fit is a 400 that names the field.
"""

from __future__ import annotations

import codecs
import functools
import re
import zlib
from collections.abc import Callable, Collection
from typing import Any, Protocol, TypeVar
from urllib.parse import parse_qsl

import msgspec
import orjson
from msgspec import inspect

from regauth.errors import BadRequest, PayloadTooLarge, UnsupportedMediaType

# A token request is a few hundred bytes; an admin call a few KiB. The limit holds for the body
# as sent and again once its content coding is undone (so a zip bomb stops at the same size).
MAX_BODY_BYTES = 64 * 1024
# Our deepest body is an organization token's resources (object > list > object > list): 4.
MAX_JSON_DEPTH = 16
# The OAuth2 form has at most eight fields.
MAX_FORM_FIELDS = 32
# Our largest integer parameter is an epoch second (11 digits); Python's int() would also take
# "١٢", " 12 " and "1_2", and spend quadratic time on thousands of digits.
MAX_INT_DIGITS = 15
# RFC 6749 Appendix B: the form is UTF-8 (ASCII is a subset); Go and containerd send no charset
# or "utf-8".
FORM_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})
# Codings undone here (RFC 9110 §8.4.1); zlib is in the standard library, br and zstd are not.
# "x-gzip" is gzip's old name, which RFC 9110 §8.4.1.3 says to accept.
_WBITS = {"gzip": 16 + zlib.MAX_WBITS, "x-gzip": 16 + zlib.MAX_WBITS, "deflate": zlib.MAX_WBITS}
ACCEPT_ENCODING = "gzip, deflate"

_SHOWN_NAME = re.compile(r"[A-Za-z0-9_.-]{1,40}")
_M = TypeVar("_M", bound=msgspec.Struct)
_TRUE, _FALSE = frozenset({"1", "t", "true"}), frozenset({"0", "f", "false"})


def header_text(name: str, value: str | None, *, ascii_only: bool = True) -> str | None:
    """A header's value as clean text.

    aiohttp decodes header bytes as UTF-8 with `surrogateescape`, so invalid UTF-8 arrives as
    lone surrogates that SQLite, orjson and argon2 refuse later (a 500, or a batch write that
    fails every second). `str.isascii()` is O(1) in CPython: the common case costs nothing.
    """
    if value is None or value.isascii():
        return value
    if ascii_only:
        raise BadRequest(f"header {name} must be ASCII")
    if not _is_utf8(value):
        raise BadRequest(f"header {name} is not valid UTF-8")
    return value


def query_text(name: str, value: str) -> str:
    """A query value as clean text. yarl turns percent-escapes that are not UTF-8 into U+FFFD."""
    if not value.isascii() and "\ufffd" in value:
        raise BadRequest(f"query parameter {name!r} is not valid UTF-8", fields={name: "invalid"})
    return value


def parse_int(name: str, raw: str, *, low: int, high: int) -> int:
    # ASCII digits only: no sign, spaces, underscores or other scripts' digits.
    if not (0 < len(raw) <= MAX_INT_DIGITS and raw.isascii() and raw.isdigit()):
        raise BadRequest(f"query parameter {name!r} must be an integer", fields={name: "invalid"})
    value = int(raw)
    if not low <= value <= high:
        raise BadRequest(
            f"query parameter {name!r} must be between {low} and {high}", fields={name: "invalid"}
        )
    return value


def parse_bool(name: str, raw: str) -> bool:
    """What Go's strconv.ParseBool takes (distribution's own token server reads it so), any case."""
    lowered = raw.lower()
    if lowered in _TRUE:
        return True
    if lowered in _FALSE:
        return False
    raise BadRequest(f"query parameter {name!r} must be true or false", fields={name: "invalid"})


def parse_choice(name: str, raw: str, choices: Collection[str]) -> str:
    if raw not in choices:
        raise BadRequest(
            f"{name} must be one of: {', '.join(sorted(choices))}", fields={name: "invalid"}
        )
    return raw


def decode_content(body: bytes, coding: str | None, *, limit: int = MAX_BODY_BYTES) -> bytes:
    """Undo the request's Content-Encoding, with the same size limit as the body itself."""
    codings = [c.strip().lower() for c in (coding or "").split(",")]
    codings = [c for c in codings if c and c != "identity"]
    if not codings:
        return body
    if len(codings) > 1 or codings[0] not in _WBITS:
        raise UnsupportedMediaType(
            f"unsupported Content-Encoding: use {ACCEPT_ENCODING} or none",
            accept_encoding=ACCEPT_ENCODING,
        )
    name = codings[0]
    wbits = _WBITS[name]
    if name == "deflate" and body and body[0] & 0x0F != 8:
        # Raw deflate without the zlib header: what some clients send, and aiohttp accepted.
        wbits = -zlib.MAX_WBITS
    decompressor = zlib.decompressobj(wbits)
    try:
        data = decompressor.decompress(body, limit + 1)
    except zlib.error:
        raise BadRequest(f"request body is not valid {name}") from None
    if len(data) > limit:
        raise PayloadTooLarge("request body too large once decompressed")
    if not decompressor.eof or decompressor.unused_data:
        raise BadRequest(f"request body is not valid {name}: truncated or followed by other data")
    return data


def check_form_charset(charset: str | None) -> None:
    if charset is not None and charset.lower() not in FORM_CHARSETS:
        raise BadRequest("the form's charset must be UTF-8")


def parse_form(body: bytes, *, max_fields: int = MAX_FORM_FIELDS) -> dict[str, str]:
    """An application/x-www-form-urlencoded body, strictly UTF-8, each field at most once;
    at most `max_fields` fields (a page's form of numbered rows may allow more)."""
    try:
        text = body.decode("utf-8").rstrip()
        # errors="strict": "%ff" and "%fe" must not both become U+FFFD (two passwords, one value).
        pairs = parse_qsl(
            text,
            keep_blank_values=True,
            encoding="utf-8",
            errors="strict",
            max_num_fields=max_fields,
        )
    except UnicodeDecodeError:
        raise BadRequest("the form is not valid UTF-8") from None
    except ValueError:  # parse_qsl's "Max number of fields exceeded"
        raise BadRequest(f"the form has more than {max_fields} fields") from None
    form: dict[str, str] = {}
    for key, value in pairs:
        if key in form:
            # RFC 6749 §3.1: parameters must not be repeated; §5.2 makes it invalid_request.
            raise BadRequest(f"form field {_shown(key)} is repeated")
        form[key] = value
    return form


def parse_json(body: bytes) -> dict[str, Any]:
    """A JSON object per RFC 8259: UTF-8, no NaN, no lone surrogates, at most MAX_JSON_DEPTH deep.

    orjson is strict where the stdlib is not (it takes NaN, "\\udc80" and, from bytes, UTF-16)
    and never recurses on the C stack past its own limit of 1024 (the stdlib raised
    RecursionError); integers past 64 bits become floats, which an `int` field refuses. The depth limit holds before any model
    sees the value, so `to_model` never meets deep nesting.
    """
    # RFC 8259 §8.1: a parser MAY ignore a byte order mark (orjson refuses one).
    if body.startswith(codecs.BOM_UTF8):
        body = body[len(codecs.BOM_UTF8) :]
    try:
        value = orjson.loads(body)
    except orjson.JSONDecodeError:
        raise BadRequest("request body is not valid JSON") from None
    if not isinstance(value, dict):
        raise BadRequest("request body must be a JSON object")
    if _deeper_than(value, MAX_JSON_DEPTH):
        raise BadRequest(f"request body is nested deeper than {MAX_JSON_DEPTH} levels")
    return value


def to_model(body: dict[str, Any], model: type[_M]) -> _M:
    """A JSON object (from `parse_json`) as `model`, or a 400 naming the first field that does
    not fit: `fields` says where (`token_label`, `resources[1].scopes[0]`) and what is wrong.

    A top-level `null` is an absent field (a 400 `required` if the field is), as regauth always
    read bodies: Docker Hub's clients send `"expires_at": null` for "never".
    """
    if None in body.values():
        body = {key: value for key, value in body.items() if value is not None}
    try:
        return msgspec.convert(body, model)
    except msgspec.ValidationError as exc:
        raise _misfit(str(exc), body, model) from None


# msgspec says what is wrong in one string: "<what>", then " - at `$<path>`" unless the problem
# is the object itself. The path is made of the model's own field names and list indices.
_AT = re.compile(r"(?P<what>.*) - at `\$(?P<path>[A-Za-z0-9_.\[\]]*)`", re.DOTALL)
_EXPECTED = re.compile(r"Expected `(?P<want>[^`]+)`, got `(?P<got>[^`]+)`")
_MISSING = "Object missing required field `"
_JSON_TYPES = {
    "str": "a string",
    "int": "an integer",
    "float": "a number",
    "bool": "a boolean",
    "array": "an array",
    "object": "an object",
    "null": "null",
}


def _misfit(what: str, body: dict[str, Any], model: type[msgspec.Struct]) -> BadRequest:
    if what.startswith("Object contains unknown field"):
        # The name is the client's: found here rather than read back from the message.
        known = {f.encode_name for f in msgspec.structs.fields(model)}
        name = next((key for key in body if key not in known), "")
        if not _SHOWN_NAME.fullmatch(name):  # (or "": an unknown field deeper in the body)
            return BadRequest("the body has a field with an unusual name that is not a field here")
        return BadRequest(f"field {name!r} is not a field here", fields={name: "unknown"})
    at = _AT.fullmatch(what)
    what, path = (at["what"], at["path"].removeprefix(".")) if at else (what, "")
    if what.startswith(_MISSING):
        missing = what.removeprefix(_MISSING).removesuffix("`")
        path = f"{path}.{missing}" if path else missing
        return BadRequest(f"field {path!r} is required", fields={path: "required"})
    expected = _EXPECTED.fullmatch(what)
    if expected:
        # A null is an absent field: "or null" would say nothing.
        wanted = [t for t in expected["want"].split(" | ") if t != "null"]
        want = " or ".join(_JSON_TYPES.get(t, t) for t in wanted)
        got = _JSON_TYPES.get(expected["got"], expected["got"])
        message = f"field {path!r} must be {want}, not {got}"
    elif what.startswith("Invalid enum value"):  # the value is the client's: not repeated
        message = f"field {path!r} must be one of: {', '.join(_choices(model, path))}"
    else:
        message = f"field {path!r} is invalid: {what}"
    return BadRequest(message, fields={path: "invalid"})


def _choices(model: type[msgspec.Struct], path: str) -> list[str]:
    """The values allowed at `path` (an enum or a Literal) in `model`."""
    node: inspect.Type = inspect.type_info(model)
    for step in re.findall(r"[^.\[\]]+|\[\d+\]", path):
        node = _unwrap(node)
        if isinstance(node, inspect.StructType):
            node = next(f.type for f in node.fields if f.encode_name == step)
        elif isinstance(node, inspect.ListType):
            node = node.item_type
    node = _unwrap(node)
    if isinstance(node, inspect.EnumType):
        return [str(member.value) for member in node.cls]
    if isinstance(node, inspect.LiteralType):
        return [str(value) for value in node.values]
    return []


def _unwrap(node: inspect.Type) -> inspect.Type:
    """The type inside documentation (`Metadata`) and an optional (`X | None`)."""
    while True:
        if isinstance(node, inspect.Metadata):
            node = node.type
        elif isinstance(node, inspect.UnionType):
            node = next(t for t in node.types if not isinstance(t, inspect.NoneType))
        else:
            return node


class QueryMapping(Protocol):
    """What a parsed query offers (aiohttp's `request.query` is a MultiDict)."""

    def get(self, key: str) -> str | None: ...
    def getall(self, key: str, default: list[str]) -> list[str]: ...


_READERS: dict[type[Any], Callable[[QueryMapping], Any]] = {}


def query_reader(model: type[_M]) -> Callable[[QueryMapping], _M]:
    """How to read `model` from a query: for each field, the strict parser its type calls for,
    with the bounds and values the model declares. Built once per model."""
    reader: Callable[[QueryMapping], _M] | None = _READERS.get(model)
    if reader is None:
        reader = _READERS[model] = _query_reader(model)
    return reader


def _query_reader(model: type[_M]) -> Callable[[QueryMapping], _M]:
    info = inspect.type_info(model)
    assert isinstance(info, inspect.StructType)
    plan = []
    for field in info.fields:
        kind, name = _unwrap(field.type), field.encode_name
        many = isinstance(kind, inspect.ListType)
        plan.append((name, many, _parser(name, kind.item_type if many else kind)))  # type: ignore[attr-defined]

    def read(query: QueryMapping) -> _M:
        values = {}
        for name, many, parse in plan:
            if many:
                values[name] = [parse(raw) for raw in query.getall(name, [])]
            elif (raw := query.get(name)) is not None:
                values[name] = parse(raw)
        return model(**values)

    return read


def _parser(name: str, kind: inspect.Type) -> Callable[[str], Any]:
    """The parser of one value: a parameter may be text, a boolean, a bounded integer or one
    of the values of a Literal or an enum."""
    if isinstance(kind, inspect.StrType):
        return lambda raw: raw if raw.isascii() else query_text(name, raw)
    if isinstance(kind, inspect.BoolType):
        return functools.partial(parse_bool, name)
    if isinstance(kind, inspect.IntType) and kind.ge is not None and kind.le is not None:
        return functools.partial(parse_int, name, low=kind.ge, high=kind.le)
    if isinstance(kind, inspect.LiteralType):
        return functools.partial(parse_choice, name, choices=frozenset(map(str, kind.values)))
    if isinstance(kind, inspect.EnumType):
        members = {str(m.value): m for m in kind.cls}
        return lambda raw: members[parse_choice(name, raw, members)]
    raise TypeError(f"query parameter {name!r}: no parser for {kind}")


def _deeper_than(value: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(value, 1)]
    while stack:
        node, depth = stack.pop()
        if depth > limit:
            return True
        children = node.values() if isinstance(node, dict) else node
        stack.extend((c, depth + 1) for c in children if isinstance(c, dict | list))
    return False


def _is_utf8(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _shown(name: str) -> str:
    """A client's field name in a message only when it is plainly a name (it may hold anything)."""
    return repr(name) if _SHOWN_NAME.fullmatch(name) else "with an unusual name"
