"""Page sessions held on the server, through the real site: signing out ends a session whoever
copied its cookie; a new password, a change to two-factor authentication or a disabled account
ends them all; the security page lists the account's browsers and signs one out."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable

import pytest
from pytest_aiohttp import AiohttpClient

from regauth.domain.models import CLI_ACTOR
from regauth.runtime import Runtime
from regauth.web.app import create_site
from tests.support.builders import Client, add_token, add_user, enable_two_factor
from tests.support.clock import FakeClock
from tests.support.secrets import remember
from tests.web.conftest import Visitor

# What a copy of a cookie gets: the tokens page's status, from a client of its own.
Replay = Callable[[str], Awaitable[int]]
END = "/settings/security/browsers/end"


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


@pytest.fixture
async def browser(runtime: Runtime, aiohttp_client: AiohttpClient) -> Visitor:
    """A second browser of alice's."""
    return Visitor(await aiohttp_client(create_site(runtime)))


@pytest.fixture
async def replay(runtime: Runtime, aiohttp_client: AiohttpClient) -> Replay:
    """The cookie sent by someone who copied it (another machine: no cookie jar of its own)."""
    thief: Client = await aiohttp_client(create_site(runtime))

    async def tokens_page(cookie: str) -> int:
        response = await thief.get(
            "/ui/settings/tokens", headers={"Cookie": f"regauth_web={cookie}"}
        )
        return response.status

    return tokens_page


def cookie_of(visitor: Visitor) -> str:
    return next(c.value for c in visitor.client.session.cookie_jar if c.key == "regauth_web")


async def test_a_cookie_copied_before_signing_out_is_refused_after(
    visitor: Visitor, replay: Replay
) -> None:
    await visitor.sign_in("alice")
    copied = cookie_of(visitor)
    assert await replay(copied) == 200  # the copy works while the session lives

    await visitor.post("/sign-out")

    assert await replay(copied) == 401
    assert (await visitor.get("/settings/tokens")).status == 401


async def test_signing_out_ends_only_that_browsers_session(
    visitor: Visitor, browser: Visitor
) -> None:
    await visitor.sign_in("alice")
    await browser.sign_in("alice")

    await visitor.post("/sign-out")

    assert (await browser.get("/settings/tokens")).status == 200
    assert (await visitor.get("/settings/tokens")).status == 401


async def test_signing_in_again_ends_the_session_the_cookie_held(
    visitor: Visitor, replay: Replay
) -> None:
    await visitor.sign_in("alice")
    before = cookie_of(visitor)
    await visitor.sign_in("alice")

    assert await replay(before) == 401
    assert (await visitor.get("/settings/tokens")).status == 200


async def test_a_new_password_ends_a_copied_cookie_and_keeps_this_browser(
    visitor: Visitor, replay: Replay
) -> None:
    await visitor.sign_in("alice")
    copied = cookie_of(visitor)
    await visitor.get("/settings/password")
    new = remember("alice-new-password-2")
    form = {"current_password": "alice-password", "new_password": new, "confirm_password": new}

    assert (await visitor.post("/settings/password", form)).status == 200

    assert await replay(copied) == 401
    assert (await visitor.get("/settings/tokens")).status == 200


async def test_a_password_reset_by_an_admin_ends_the_page_sessions(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    runtime.users.reset_password("alice", CLI_ACTOR, remember("reset-by-the-admin"))

    response = await visitor.get("/settings/tokens")

    assert response.status == 401
    assert "session has ended" in visitor.text


async def test_a_disabled_account_stays_signed_out_when_enabled_again(
    runtime: Runtime, visitor: Visitor, replay: Replay
) -> None:
    await visitor.sign_in("alice")
    copied = cookie_of(visitor)
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    assert await replay(copied) == 401

    runtime.users.set_disabled("alice", CLI_ACTOR, False)

    assert await replay(copied) == 401
    assert (await visitor.get("/settings/tokens")).status == 401


async def test_turning_two_factor_on_ends_the_other_browsers_and_keeps_this_one(
    visitor: Visitor, browser: Visitor, clock: FakeClock
) -> None:
    import pyotp

    await browser.sign_in("alice")
    await visitor.sign_in("alice")
    await visitor.get("/settings/security")
    await visitor.post("/settings/security/2fa/enroll")
    found = re.search(r'id="secret" readonly value="([A-Z2-7]+)"', visitor.text)
    assert found
    totp = pyotp.TOTP(remember(found.group(1)))

    await visitor.post("/settings/security/2fa/confirm", {"code": totp.at(clock())})

    assert "will not be shown again" in visitor.text
    for code in re.findall(r"<li><code>([a-z0-9-]+)</code></li>", visitor.text):
        remember(code)
    assert (await browser.get("/settings/tokens")).status == 401
    assert (await visitor.get("/settings/tokens")).status == 200
    assert (await visitor.post("/sign-out")).status == 200  # the new session's token works


async def test_an_admin_reset_of_two_factor_ends_the_page_sessions(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    await visitor.sign_in("alice")
    ticket = re.search(r'name="ticket" value="([^"]+)"', visitor.text)
    assert ticket
    clock.advance(30)
    await visitor.post("/sign-in/code", {"ticket": ticket.group(1), "code": totp.at(clock())})
    assert (await visitor.get("/settings/tokens")).status == 200

    runtime.two_factor.disable(runtime.users.get("alice"), CLI_ACTOR, None)

    assert (await visitor.get("/settings/tokens")).status == 401


async def test_a_pat_session_ends_when_its_token_is_deleted(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice", add_token(runtime, "alice", description="reader"))
    assert (await visitor.get("/settings/tokens")).status == 200

    runtime.tokens.delete(runtime.tokens.list_for(runtime.users.get("alice"))[0], CLI_ACTOR)

    assert (await visitor.get("/settings/tokens")).status == 401


# Timeouts: as before, per browser and on the server


async def test_a_copied_cookie_is_refused_after_the_idle_timeout(
    runtime: Runtime, visitor: Visitor, replay: Replay, clock: FakeClock
) -> None:
    await visitor.sign_in("alice")
    copied = cookie_of(visitor)
    clock.advance(runtime.config.web.idle_timeout_seconds + 1)

    assert await replay(copied) == 401


async def test_the_absolute_timeout_holds_whatever_the_cookie_says(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    await visitor.sign_in("alice")
    step = runtime.config.web.idle_timeout_seconds - 60
    elapsed = 0
    while elapsed + step < runtime.config.auth.session_ttl_seconds:
        clock.advance(step)
        elapsed += step
        assert (await visitor.get("/settings/tokens")).status == 200
    clock.advance(runtime.config.auth.session_ttl_seconds - elapsed)

    assert (await visitor.get("/settings/tokens")).status == 401
    assert "session has ended" in visitor.text


async def test_a_page_view_writes_the_last_seen_time_at_most_once_a_minute(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    await visitor.sign_in("alice")
    signed_in = int(clock())
    alice = runtime.users.get("alice")

    def last_seen() -> int:
        (session,) = runtime.web_sessions.list_for(alice)
        return session.last_seen_at

    clock.advance(59)
    await visitor.get("/settings/tokens")
    assert last_seen() == signed_in
    clock.advance(1)
    await visitor.get("/settings/tokens")
    assert last_seen() == signed_in + 60


# The security page's "Signed-in browsers"


async def test_the_security_page_lists_the_browsers_and_signs_one_out(
    runtime: Runtime, visitor: Visitor, browser: Visitor
) -> None:
    await browser.sign_in("alice")
    await visitor.sign_in("alice")

    await visitor.get("/settings/security")

    assert "Signed-in browsers" in visitor.text
    assert "This browser" in visitor.text
    listed = visitor.text.split("Signed-in browsers")[1]
    assert listed.count("127.0.0.1") == 2  # IP and client of each
    assert listed.count("aiohttp/") == 2
    others = re.findall(r'name="session" value="([0-9a-f]+)"', visitor.text)
    assert len(others) == 1  # the other browser's; this one signs out with "Sign out"
    await visitor.post("/settings/security/browsers/end", {"session": others[0]})

    assert (await browser.get("/settings/tokens")).status == 401
    assert (await visitor.get("/settings/security")).status == 200
    assert "/settings/security/browsers/end" not in visitor.text


async def test_only_the_accounts_own_other_sessions_can_be_signed_out(
    runtime: Runtime, visitor: Visitor, browser: Visitor
) -> None:
    add_user(runtime, "bob")
    await browser.sign_in("bob")
    (bobs,) = runtime.web_sessions.list_for(runtime.users.get("bob"))
    await visitor.sign_in("alice")
    (own,) = runtime.web_sessions.list_for(runtime.users.get("alice"))
    await visitor.get("/settings/security")

    assert (await visitor.post(END, {"session": bobs.id})).status == 404
    await visitor.get("/settings/security")
    assert (await visitor.post(END, {"session": own.id})).status == 400
    assert (await browser.get("/settings/tokens")).status == 200
    assert (await visitor.get("/settings/tokens")).status == 200


async def test_a_pat_session_sees_the_browsers_but_cannot_sign_one_out(
    runtime: Runtime, visitor: Visitor, browser: Visitor
) -> None:
    await browser.sign_in("alice")
    await visitor.sign_in("alice", add_token(runtime, "alice"))

    await visitor.get("/settings/security")

    assert "This browser" in visitor.text
    assert "read-only (a personal access token)" in visitor.text
    assert "/settings/security/browsers/end" not in visitor.text
    (other,) = [
        s for s in runtime.web_sessions.list_for(runtime.users.get("alice")) if not s.read_only
    ]
    response = await visitor.post(END, {"session": other.id})
    assert response.status == 403
    assert (await browser.get("/settings/tokens")).status == 200
