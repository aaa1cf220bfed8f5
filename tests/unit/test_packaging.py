"""What a wheel ships besides the modules: every template and static file of the web pages
(an installed regauth — the container image — has no source tree to fall back on)."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
PACKAGE = ROOT / "src" / "regauth"


def test_every_page_file_is_in_the_package_data() -> None:
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = config["tool"]["setuptools"]["package-data"]["regauth"]
    # setuptools expands them as glob patterns below the package (a `*` stops at a `/`).
    shipped = {path for pattern in patterns for path in PACKAGE.glob(pattern) if path.is_file()}
    needed = {
        path
        for folder in ("web/templates", "web/static")
        for path in (PACKAGE / folder).rglob("*")
        if path.is_file()
    }
    assert needed, "no page files found"
    assert sorted(str(p.relative_to(PACKAGE)) for p in needed - shipped) == []
