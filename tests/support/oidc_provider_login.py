"""A person at the OpenID Provider's pages, over HTTP: from the authorization URL a relying party
redirects to, through the provider's real login form (username and password) and its consent
form, to the redirect back to the relying party, which is returned, not followed, so that a
test can deliver it to the app it runs (and see the code and state, or the error, it carries).
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import urljoin, urlsplit

import aiohttp

REDIRECTS = (301, 302, 303, 307, 308)
MAX_STEPS = 20


class ProviderLoginError(AssertionError):
    """The provider's pages did not lead back to the relying party."""


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)
    types: set[str] = field(default_factory=set)
    buttons: list[str] = field(default_factory=list)


class _Forms(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.forms: list[Form] = []
        self._in_button = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        if tag == "form":
            self.forms.append(Form(values.get("action", ""), values.get("method", "get").lower()))
        elif tag == "input" and self.forms:
            self.forms[-1].types.add(values.get("type", "text"))
            if "name" in values:
                self.forms[-1].fields[values["name"]] = values.get("value", "")
        elif tag == "button" and self.forms:
            self._in_button = True
            self.forms[-1].buttons.append("")

    def handle_endtag(self, tag: str) -> None:
        if tag == "button":
            self._in_button = False

    def handle_data(self, data: str) -> None:
        if self._in_button and self.forms:
            self.forms[-1].buttons[-1] += data.strip()


def forms_of(page: str) -> list[Form]:
    parser = _Forms()
    parser.feed(page)
    return parser.forms


def _origin(url: str) -> tuple[str, str]:
    parts = urlsplit(url)
    return parts.scheme, parts.netloc


@asynccontextmanager
async def provider_browser() -> AsyncIterator[aiohttp.ClientSession]:
    """A client with a cookie jar of its own that keeps the provider's cookies (it is on
    127.0.0.1: aiohttp's default jar drops cookies of IP addresses)."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as session:
        yield session


async def sign_in_at_provider(
    session: aiohttp.ClientSession,
    authorization_url: str,
    login: str,
    password: str,
    *,
    decline: bool = False,
) -> str:
    """The URL the provider sends the browser back to (the relying party's redirect URI with
    `code` and `state`, or `error`). With `decline`, "Cancel" is pressed at the consent page."""
    provider = _origin(authorization_url)
    url, method, data = authorization_url, "GET", None
    password_sent = False
    for _ in range(MAX_STEPS):
        async with session.request(method, url, data=data, allow_redirects=False) as response:
            page = await response.text()
            location = response.headers.get("Location")
        if response.status in REDIRECTS and location:
            url, method, data = urljoin(url, location), "GET", None
            if _origin(url) != provider:
                return url
            continue
        form = _next_form(forms_of(page), decline)
        if form is None:
            raise ProviderLoginError(
                f"{response.status} at {url} with no form to go on with:\n{page[:2000]}"
            )
        if "password" in form.types:
            if password_sent:
                raise ProviderLoginError(f"the provider refused the password of {login!r}")
            data = {**form.fields, "login": login, "password": password}
            password_sent = True
        else:
            data = dict(form.fields)
        url, method = urljoin(url, form.action), form.method.upper()
    raise ProviderLoginError(f"no way back to the relying party after {MAX_STEPS} steps")


def _next_form(forms: list[Form], decline: bool) -> Form | None:
    """The login form (the one with a password field), else the consent page's button."""
    login_form = next((f for f in forms if "password" in f.types), None)
    if login_form is not None:
        return login_form
    wanted = "Cancel" if decline else "Continue"
    return next((f for f in forms if wanted in f.buttons), None)
