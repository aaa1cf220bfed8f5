"""Output for people (aligned tables, field lists) and for scripts (the admin API's JSON).

`--json` prints the HTTP API's models (`regauth.http.models`), encoded by msgspec as the API
encodes them, so a script sees the same shapes from both.

Stored text may hold characters a terminal acts on (a client's user agent, text from before
descriptions refused them, an identity provider's names): both show them escaped
(domain/text.py), never as they are.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from regauth.domain import text

Record = msgspec.Struct | Mapping[str, Any]
_ENCODER = msgspec.json.Encoder()


def print_json(value: Record | Sequence[msgspec.Struct]) -> None:
    print(text.escape_in_json(msgspec.json.format(_ENCODER.encode(value), indent=2).decode()))


def fields(record: Record) -> dict[str, Any]:
    """A record as JSON values by name (enums as their values), for tables and field lists."""
    return msgspec.to_builtins(record) if isinstance(record, msgspec.Struct) else dict(record)


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        if not value:
            return "-"
        return text.escape(json.dumps(value, sort_keys=True, separators=(",", ":")))
    return text.escape(str(value))


def print_table(columns: Sequence[str], rows: Sequence[Record]) -> None:
    cells = [[cell(row[c]) for c in columns] for row in map(fields, rows)]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [[c.upper() for c in columns], *cells]
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def print_fields(record: Record) -> None:
    """One record, a field per line: for `show` commands."""
    view = fields(record)
    width = max(len(k) for k in view)
    for key, value in view.items():
        print(f"{key.ljust(width)}  {cell(value)}")
