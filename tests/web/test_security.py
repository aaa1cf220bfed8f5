"""The page's security properties through the real site: CSRF on every form, a PAT session that
cannot change anything, the headers, the cookie's flags, its signature and its timeouts."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.runtime import Runtime
from regauth.web.app import create_site
from tests.support.builders import (
    Client,
    add_org,
    add_token,
    add_unchecked_token,
    add_user,
    make_config,
)
from tests.support.clock import FakeClock
from tests.support.secrets import remember
from tests.web.conftest import PREFIX, Visitor, token_on_page

NEW = {"description": "laptop", "access": "write", "expiration": "30"}


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def _tokens(runtime: Runtime) -> list[str]:
    return [t.description for t in runtime.tokens.list_for(runtime.users.get("alice"))]


def _uuid(runtime: Runtime) -> str:
    return runtime.tokens.list_for(runtime.users.get("alice"))[0].uuid


# CSRF


@pytest.mark.parametrize("csrf", [None, "", "forged-token-value"])
async def test_a_form_without_the_page_token_is_refused(
    runtime: Runtime, visitor: Visitor, csrf: str | None
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")

    response = await visitor.post("/settings/tokens/new", NEW, csrf=csrf)

    assert response.status == 403
    assert "was not sent from a page of this site" in visitor.text
    assert _tokens(runtime) == []


async def test_every_state_changing_action_checks_the_token(
    runtime: Runtime, visitor: Visitor
) -> None:
    add_token(runtime, "alice", description="ci")
    uuid = _uuid(runtime)
    await visitor.sign_in("alice")
    for path, form in (
        (f"/settings/tokens/{uuid}/deactivate", {}),
        (f"/settings/tokens/{uuid}/edit", {"description": "renamed"}),
        (f"/settings/tokens/{uuid}/delete", {}),
        ("/sign-out", {}),
    ):
        response = await visitor.post(path, form, csrf=None)
        assert response.status == 403, path
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    assert (record.description, record.active) == ("ci", True)
    assert (await visitor.get("/settings/tokens")).status == 200  # still signed in


async def test_the_sign_in_form_needs_its_token(visitor: Visitor) -> None:
    await visitor.get("/sign-in")
    response = await visitor.post(
        "/sign-in", {"username": "alice", "password": "alice-password"}, csrf=None
    )
    assert response.status == 403
    assert (await visitor.get("/settings/tokens")).status == 401


async def test_the_token_from_before_signing_in_is_worthless_after(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.get("/sign-in")
    before = visitor.csrf
    await visitor.post("/sign-in", {"username": "alice", "password": "alice-password"})
    assert visitor.csrf != before

    response = await visitor.post("/settings/tokens/new", NEW, csrf=before)

    assert response.status == 403
    assert _tokens(runtime) == []


# A session opened with a personal access token


async def test_a_pat_session_sees_no_action_buttons(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ, description="reader")
    await visitor.sign_in("alice", pat)

    response = await visitor.get("/settings/tokens")

    assert response.status == 200
    assert "reader" in visitor.text
    assert "read-only" in visitor.text
    for action in ("Generate new token", "Deactivate", "Edit", "Delete", "Actions"):
        assert action not in visitor.text, action
    assert "Sign out" in visitor.text


@pytest.mark.parametrize("action", ["deactivate", "delete", "edit"])
async def test_a_pat_session_is_refused_a_forged_post(
    runtime: Runtime, visitor: Visitor, action: str
) -> None:
    pat = add_token(runtime, "alice", description="reader")
    await visitor.sign_in("alice", pat)
    await visitor.get("/settings/tokens")  # the page's own token: only the session is wrong

    response = await visitor.post(
        f"/settings/tokens/{_uuid(runtime)}/{action}", {"description": "renamed"}
    )

    assert response.status == 403
    assert "personal access token cannot" in visitor.text
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    assert (record.description, record.active) == ("reader", True)


async def test_a_pat_session_cannot_generate_tokens(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice", description="reader")
    await visitor.sign_in("alice", pat)
    assert (await visitor.get("/settings/tokens/new")).status == 403

    await visitor.get("/settings/tokens")
    response = await visitor.post("/settings/tokens/new", NEW)

    assert response.status == 403
    assert _tokens(runtime) == ["reader"]


async def test_a_pat_session_ends_when_its_token_is_regenerated(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice", description="reader")
    await visitor.sign_in("alice", pat)
    assert (await visitor.get("/settings/tokens")).status == 200
    (record,) = runtime.tokens.list_for(runtime.users.get("alice"))
    remember(str(runtime.rotation.regenerate(record, CLI_ACTOR).token))

    response = await visitor.get("/settings/tokens")

    assert response.status == 401
    assert "was regenerated: sign in again" in visitor.text, visitor.text[-1500:]


# Headers


async def test_pages_carry_the_security_headers(visitor: Visitor) -> None:
    for response in (
        await visitor.get("/sign-in"),
        await visitor.sign_in("alice"),
        await visitor.get("/settings/tokens/no-such-token/edit"),
        await visitor.get("/no-such-page"),
        await visitor.get("/sign-out"),  # a GET where only a POST is served: 405
    ):
        headers = response.headers
        csp = headers["Content-Security-Policy"]
        assert "frame-ancestors 'none'" in csp
        assert "script-src 'self'" in csp
        assert "unsafe-inline" not in csp
        assert headers["X-Frame-Options"] == "DENY"
        assert headers["X-Content-Type-Options"] == "nosniff"
        assert headers["Cache-Control"] == "no-store"
        assert response.content_type == "text/html"


async def test_no_inline_script_or_style_on_any_page(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    for path in ("/settings/tokens", "/settings/tokens/new"):
        await visitor.get(path)
        assert "<script>" not in visitor.text
        assert "<style" not in visitor.text
        assert " style=" not in visitor.text
        assert " onclick" not in visitor.text.lower()


async def test_the_new_secret_is_shown_once_and_never_stored(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")

    response = await visitor.post("/settings/tokens/new", NEW)

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = token_on_page(visitor.text)
    assert secret.startswith("rgp_")
    assert "will not be shown again" in visitor.text
    assert "docker login -u alice localhost:5000" in visitor.text
    assert secret not in str(response.url)
    for path in (
        "/settings/tokens",
        "/settings/tokens/new",
        f"/settings/tokens/{_uuid(runtime)}/edit",
    ):
        await visitor.get(path)
        assert secret not in visitor.text, path


async def test_the_secret_comes_after_a_redirect_and_a_reload_shows_it_no_more(
    runtime: Runtime, visitor: Visitor, site: Client
) -> None:
    """POST-redirect-GET: reloading the page (or going back to it) never shows the secret
    again and never makes a second token, which re-sending the POST would."""
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    form = {**NEW, "csrf_token": visitor.csrf}
    answer = await site.post(f"{PREFIX}/settings/tokens/new", data=form, allow_redirects=False)
    created = f"{PREFIX}/settings/tokens/{_uuid(runtime)}/created"
    assert (answer.status, answer.headers["Location"]) == (303, created)
    [sealed] = [h for h in answer.headers.getall("Set-Cookie") if h.startswith("regauth_shown")]
    assert f"Path={created}" in sealed and "HttpOnly" in sealed and "SameSite=Strict" in sealed
    assert "Max-Age=120" in sealed

    page = await visitor.get(f"/settings/tokens/{_uuid(runtime)}/created")
    secret = token_on_page(visitor.text)
    assert secret not in str(page.url) and secret not in sealed
    assert page.headers["Cache-Control"] == "no-store"
    [forgotten] = [h for h in page.headers.getall("Set-Cookie") if h.startswith("regauth_shown")]
    assert "Max-Age=0" in forgotten

    again = await visitor.get(f"/settings/tokens/{_uuid(runtime)}/created")
    assert again.status == 200
    assert secret not in visitor.text
    assert "was shown once, when it was generated, and is not shown again" in visitor.text
    assert len(runtime.tokens.list_for(runtime.users.get("alice"))) == 1


async def test_another_session_cannot_open_the_sealed_secret(
    runtime: Runtime, visitor: Visitor, site: Client, aiohttp_client: AiohttpClient
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    form = {**NEW, "csrf_token": visitor.csrf}
    answer = await site.post(f"{PREFIX}/settings/tokens/new", data=form, allow_redirects=False)
    sealed = answer.cookies["regauth_shown_once"].value
    # The same account signed in elsewhere, presented the stolen cookie: nothing shown.
    other = Visitor(await aiohttp_client(create_site(runtime)))
    await other.sign_in("alice")
    other.client.session.cookie_jar.update_cookies({"regauth_shown_once": sealed})
    await other.get(f"/settings/tokens/{_uuid(runtime)}/created")
    assert "was shown once" in other.text
    assert 'id="new-token"' not in other.text


async def test_static_files_are_served_from_the_package(visitor: Visitor) -> None:
    css = await visitor.get("/static/site.css")
    js = await visitor.get("/static/site.js")
    assert (css.status, js.status) == (200, 200)
    assert css.content_type == "text/css"
    assert "navigator.clipboard" in visitor.text


# The cookie


def _cookie_header(response_headers: list[str]) -> str:
    cookies = [h for h in response_headers if h.startswith("regauth_web=")]
    assert cookies, response_headers
    return cookies[-1]


async def test_the_cookie_is_http_only_and_same_site(visitor: Visitor) -> None:
    await visitor.get("/sign-in")
    response = await visitor.client.post(
        "/ui/sign-in",
        data={"username": "alice", "password": "alice-password", "csrf_token": visitor.csrf},
        allow_redirects=False,
    )
    assert response.status == 303
    cookie = _cookie_header(response.headers.getall("Set-Cookie"))
    assert "HttpOnly" in cookie
    assert "SameSite=Lax" in cookie
    assert "Path=/ui/" in cookie
    assert "Secure" not in cookie  # plain http: a Secure cookie would never come back
    assert "alice-password" not in cookie


@pytest.mark.parametrize(
    ("sections", "headers", "secure"),
    [
        ({"server": {"public_url": "https://auth.example"}}, {}, True),
        ({"server": {"trusted_proxies": ("127.0.0.1",)}}, {"X-Forwarded-Proto": "https"}, True),
        ({"server": {"trusted_proxies": ("10.0.0.1",)}}, {"X-Forwarded-Proto": "https"}, False),
        ({"server": {"trusted_proxies": ("127.0.0.1",)}}, {"X-Forwarded-Proto": "http"}, False),
    ],
)
async def test_the_cookie_is_secure_over_https(
    tmp_path: Path,
    clock: FakeClock,
    aiohttp_client: AiohttpClient,
    sections: dict[str, dict[str, object]],
    headers: dict[str, str],
    secure: bool,
) -> None:
    from regauth.runtime import open_runtime

    config: Config = make_config(tmp_path, **sections)
    runtime = open_runtime(config, clock=clock)
    try:
        client = await aiohttp_client(create_site(runtime))
        response = await client.get("/ui/sign-in", headers=headers)
        assert ("Secure" in _cookie_header(response.headers.getall("Set-Cookie"))) is secure
    finally:
        runtime.close()


@pytest.mark.parametrize("part", ["payload", "signature"])
async def test_an_altered_cookie_is_no_session(visitor: Visitor, part: str) -> None:
    await visitor.sign_in("alice")
    jar = visitor.client.session.cookie_jar
    payload, _, mac = next(c.value for c in jar if c.key == "regauth_web").partition(".")
    jar.clear()
    altered = f"{payload[:-2]}AA.{mac}" if part == "payload" else f"{payload}.{mac[:-2]}AA"

    response = await visitor.client.get(
        "/ui/settings/tokens", headers={"Cookie": f"regauth_web={altered}"}
    )

    assert response.status == 401
    assert "Sign in" in await response.text()


async def test_the_session_ends_after_the_idle_timeout(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    idle = runtime.config.web.idle_timeout_seconds
    await visitor.sign_in("alice")
    clock.advance(idle - 10)
    assert (await visitor.get("/settings/tokens")).status == 200  # activity: the timer restarts
    clock.advance(idle - 10)
    assert (await visitor.get("/settings/tokens")).status == 200

    clock.advance(idle + 1)
    response = await visitor.get("/settings/tokens")

    assert response.status == 401
    assert "without activity" in visitor.text


async def test_the_session_ends_at_the_absolute_timeout_however_active(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    await visitor.sign_in("alice")
    elapsed, step = 0, runtime.config.web.idle_timeout_seconds - 60
    while elapsed + step < runtime.config.auth.session_ttl_seconds:
        clock.advance(step)
        elapsed += step
        assert (await visitor.get("/settings/tokens")).status == 200
    clock.advance(step)

    assert (await visitor.get("/settings/tokens")).status == 401


async def test_signing_out_drops_the_session(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    response = await visitor.post("/sign-out")

    assert response.status == 200
    assert "You are signed out" in visitor.text
    assert "Sign out" not in visitor.text
    assert (await visitor.get("/settings/tokens")).status == 401


async def test_a_disabled_account_loses_its_page_session(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    from regauth.domain.models import CLI_ACTOR

    runtime.users.set_disabled("alice", CLI_ACTOR, True)

    assert (await visitor.get("/settings/tokens")).status == 401


async def test_a_pat_session_ends_with_its_token(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice", description="reader")
    await visitor.sign_in("alice", pat)
    from regauth.domain.models import CLI_ACTOR

    runtime.tokens.set_active(
        runtime.tokens.list_for(runtime.users.get("alice"))[0], CLI_ACTOR, False
    )

    assert (await visitor.get("/settings/tokens")).status == 401


# Text that acts on the text around it

BIDI_AND_C1 = "\u202e\u2066\u009b"


async def test_stored_text_and_a_clients_user_agent_are_shown_escaped(
    runtime: Runtime, visitor: Visitor
) -> None:
    """HTML escaping leaves a bidi override as it is: a description from before descriptions
    were checked, or any client's user agent, would reverse the rest of its line."""
    add_unchecked_token(runtime, "alice", "ci\u202etxt.exe", "docker\u009b2J \u2066evil")
    await visitor.sign_in("alice")
    pages = []
    for path in (
        "/settings/tokens",
        "/settings/tokens/6d3f7a52-0d1c-4c43-9a4b-2f1f8c0d7e11/delete",
    ):
        await visitor.get(path)
        pages.append(visitor.text)
    assert "ci\\u202etxt.exe" in pages[0] and "with docker\\x9b2J \\u2066evil" in pages[0]
    assert "Delete <strong>ci\\u202etxt.exe</strong>" in pages[1]
    assert not any(c in page for c in BIDI_AND_C1 for page in pages)


async def test_a_teams_stored_description_is_shown_escaped(
    runtime: Runtime, visitor: Visitor
) -> None:
    org = add_org(runtime, "acme", "alice")
    runtime.store.create_team(org.id, "devs", "the \u202esrepoleved")
    await visitor.sign_in("alice")
    for path in ("/orgs/acme", "/orgs/acme/teams/devs"):
        await visitor.get(path)
        assert "the \\u202esrepoleved" in visitor.text, path
        assert not any(c in visitor.text for c in BIDI_AND_C1), path
