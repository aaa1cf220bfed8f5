"""Fixtures of the web page's HTTP tests: the site as `regauth serve` builds it (the API with
the pages mounted), and a browser-like visitor that reads each form's CSRF token."""

from __future__ import annotations

import html
import re
from dataclasses import dataclass

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient

from regauth.runtime import Runtime
from regauth.web.app import create_site
from tests.support.builders import Client, password_of
from tests.support.secrets import remember

PREFIX = "/ui"
_CSRF = re.compile(r'name="csrf_token" value="([^"]+)"')


@pytest.fixture
async def site(runtime: Runtime, aiohttp_client: AiohttpClient) -> Client:
    return await aiohttp_client(create_site(runtime))


@dataclass
class Visitor:
    """A browser: one cookie jar (the client's), the last page's text, forms posted with the
    token the last page carried."""

    client: Client
    text: str = ""

    async def get(self, path: str) -> ClientResponse:
        response = await self.client.get(f"{PREFIX}{path}", allow_redirects=True)
        self.text = await response.text()
        return response

    @property
    def csrf(self) -> str:
        found = _CSRF.search(self.text)
        assert found, f"no CSRF token on the page:\n{self.text[:2000]}"
        return html.unescape(found.group(1))

    async def post(
        self, path: str, form: dict[str, str] | None = None, *, csrf: str | None = "page"
    ) -> ClientResponse:
        """POST a form; `csrf` "page": the last page's token, None: none, else that value."""
        data = dict(form or {})
        if csrf is not None:
            data["csrf_token"] = self.csrf if csrf == "page" else csrf
        response = await self.client.post(f"{PREFIX}{path}", data=data, allow_redirects=True)
        self.text = await response.text()
        return response

    async def sign_in(self, username: str, secret: str | None = None) -> ClientResponse:
        await self.get("/sign-in")
        password = secret if secret is not None else password_of(username)
        return await self.post("/sign-in", {"username": username, "password": password})


@pytest.fixture
def visitor(site: Client) -> Visitor:
    return Visitor(site)


def token_on_page(text: str) -> str:
    found = re.search(r'id="new-token" readonly value="([^"]+)"', text)
    assert found, f"no token on the page:\n{text[:3000]}"
    return remember(html.unescape(found.group(1)))
