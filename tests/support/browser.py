"""A real headless Chromium from Debian's packages (`chromium`), driven by Playwright: never a
downloaded browser. A missing browser fails under CI=true (`ci.missing`), elsewhere skips."""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

from tests.support.ci import missing

if TYPE_CHECKING:
    from playwright.sync_api import Browser, Page

CHROMIUM = "/usr/bin/chromium"
# Where the browser tests save their screenshots (a test artifact; docs/screenshots holds the
# ones the README shows, copied from here by hand).
SCREENSHOTS = Path(os.environ.get("TEST_SCREENSHOTS_DIR", "test-artifacts/screenshots"))


@contextmanager
def chromium() -> Iterator[Browser]:
    if not (Path(CHROMIUM).exists() or shutil.which("chromium")):
        missing(f"no browser at {CHROMIUM} (apt-get install chromium chromium-driver)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:  # pragma: no cover - a test extra
        missing("playwright is not installed (pip install -e '.[test]')")
    with sync_playwright() as playwright:
        # Debian's build; the sandbox needs user namespaces, which a root test run lacks.
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True)
        try:
            yield browser
        finally:
            browser.close()


def screenshot(page: Page, name: str, **options: object) -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True, **options)  # type: ignore[arg-type]
    return path
