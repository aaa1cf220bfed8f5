"""Identifiers made per request: request ids for the logs and `jti` ids for tokens.

Both are made in every worker process, so both are reset in each forked child: a value
drawn before the fork (the supervisor imports this module) must never be handed out by two
workers. `os.register_at_fork` does that for any fork, not only the supervisor's.

A `jti` is 22 base64url characters, 132 random bits from the OS CSPRNG, as random as the
16 bytes of `os.urandom` it replaced; they are cut from one draw of 256 at a time because
a `getrandom` call plus its encoding cost ~5 µs per token in the server (bench/run.py
profile), about 5 % of a /token request.
"""

from __future__ import annotations

import base64
import itertools
import os
import secrets
from collections.abc import Iterator

JTI_CHARS = 22
_JTIS_PER_DRAW = 256
# 6 random bits per base64 character; a multiple of 3 bytes, so the encoding has no padding.
_DRAW_BYTES = _JTIS_PER_DRAW * JTI_CHARS * 6 // 8

_request_prefix = ""
_request_numbers: Iterator[int] = iter(())
_jtis: Iterator[str] = iter(())


def request_id() -> str:
    """Unique in this process and, through a random per-process prefix, across workers."""
    return f"{_request_prefix}{next(_request_numbers):x}"


def jti() -> str:
    global _jtis
    value = next(_jtis, None)
    if value is None:
        # next() on a list iterator is atomic, so threads never share a value; two that
        # find the draw used up both draw (each from its own local iterator).
        fresh = _draw_jtis()
        _jtis = fresh
        value = next(fresh)
    return value


def _draw_jtis() -> Iterator[str]:
    text = base64.urlsafe_b64encode(os.urandom(_DRAW_BYTES)).decode("ascii")
    return iter([text[i : i + JTI_CHARS] for i in range(0, len(text), JTI_CHARS)])


def _reset() -> None:
    global _request_prefix, _request_numbers, _jtis
    _request_prefix = secrets.token_hex(4)
    _request_numbers = itertools.count(1)
    _jtis = iter(())


_reset()
os.register_at_fork(after_in_child=_reset)
