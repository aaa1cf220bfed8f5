"""Output for people (aligned tables, field lists) and for scripts (the admin API's JSON)."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any


def print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def cell(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, dict | list):
        return json.dumps(value, sort_keys=True, separators=(",", ":")) if value else "-"
    return str(value)


def print_table(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> None:
    cells = [[cell(row[c]) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    lines = [[c.upper() for c in columns], *cells]
    for line in lines:
        print("  ".join(v.ljust(w) for v, w in zip(line, widths, strict=True)).rstrip())


def print_fields(view: Mapping[str, Any]) -> None:
    """One record, a field per line: for `show` commands."""
    width = max(len(k) for k in view)
    for key, value in view.items():
        print(f"{key.ljust(width)}  {cell(value)}")
