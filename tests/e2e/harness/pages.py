"""The web pages as a browser without JavaScript uses them: one cookie jar, forms posted with
the CSRF token of the page they are on, redirects followed; loopback only."""

from __future__ import annotations

import html
import http.cookiejar
import re
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass

from tests.e2e.harness.processes import HarnessError

_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@dataclass(frozen=True)
class Page:
    status: int
    url: str
    text: str
    headers: dict[str, str]

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        if found is None:
            raise HarnessError(f"no CSRF token on {self.url}")
        return html.unescape(found.group(1))

    def field(self, element_id: str) -> str:
        """The value of the read-only field with this id (the shown token, the login command)."""
        found = re.search(rf'id="{re.escape(element_id)}" readonly value="([^"]+)"', self.text)
        if found is None:
            raise HarnessError(f"no field {element_id!r} on {self.url}")
        return html.unescape(found.group(1))


class Browser:
    def __init__(self, base_url: str, prefix: str = "/ui"):
        if not base_url.startswith("http://127.0.0.1:"):
            raise HarnessError(f"the harness only talks to loopback services, not {base_url}")
        self._base = f"{base_url}{prefix}"
        self._opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar())
        )

    def get(self, path: str) -> Page:
        url = f"{self._base}{path}"
        return self._open(urllib.request.Request(url))  # noqa: S310 - loopback only, checked

    def submit(self, on: Page, path: str, fields: dict[str, str]) -> Page:
        """POST a form of the page `on` (its CSRF token added), as its button would."""
        body = urllib.parse.urlencode({**fields, "csrf_token": on.csrf}).encode()
        request = urllib.request.Request(  # noqa: S310 - loopback only, checked
            f"{self._base}{path}",
            data=body,
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        return self._open(request)

    def sign_in(self, username: str, password: str) -> Page:
        form = self.get("/sign-in")
        return self.submit(form, "/sign-in", {"username": username, "password": password})

    def _open(self, request: urllib.request.Request) -> Page:
        try:
            with self._opener.open(request, timeout=10) as answer:
                return Page(answer.status, answer.url, answer.read().decode(), dict(answer.headers))
        except urllib.error.HTTPError as error:
            return Page(error.code, error.url, error.read().decode(), dict(error.headers))
