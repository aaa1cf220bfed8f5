"""Signing in on the page: the password, a personal access token (read-only), the second
step with a code or a recovery code, and the messages for each refusal."""

from __future__ import annotations

import re

import pytest

from regauth.domain.models import CLI_ACTOR
from regauth.runtime import Runtime
from tests.support.builders import add_token, add_user, basic, enable_two_factor, password_of
from tests.support.clock import FakeClock
from tests.web.conftest import Visitor


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def test_the_sign_in_page_has_its_labelled_fields(visitor: Visitor) -> None:
    response = await visitor.get("/sign-in")
    assert response.status == 200
    assert '<label for="username">Username</label>' in visitor.text
    assert '<label for="password">Password</label>' in visitor.text
    assert '<button type="submit">Sign in</button>' in visitor.text


async def test_the_prefix_alone_leads_to_the_tokens(visitor: Visitor) -> None:
    response = await visitor.get("/")
    assert response.url.path == "/ui/settings/tokens"
    assert response.status == 401  # not signed in: the sign-in form, in place
    assert "Sign in" in visitor.text


async def test_the_bare_prefix_redirects_into_the_pages(visitor: Visitor) -> None:
    response = await visitor.client.get("/ui", allow_redirects=False)
    assert (response.status, response.headers["Location"]) == (308, "/ui/")


async def test_a_password_opens_a_session_that_may_change_things(visitor: Visitor) -> None:
    response = await visitor.sign_in("alice")
    assert response.status == 200
    assert response.url.path == "/ui/settings/tokens"
    assert "Signed in as <strong>alice</strong>" in visitor.text
    assert "Generate new token" in visitor.text
    assert "read-only" not in visitor.text


async def test_a_wrong_password_is_said_so(visitor: Visitor) -> None:
    response = await visitor.sign_in("alice", "not-her-password")
    assert response.status == 401
    assert "Incorrect username or password." in visitor.text
    assert 'value="alice"' in visitor.text  # the name stays filled in, never the password
    assert "not-her-password" not in visitor.text


async def test_an_unknown_user_gets_the_same_message(visitor: Visitor) -> None:
    response = await visitor.sign_in("nobody", "whatever-password")
    assert response.status == 401
    assert "Incorrect username or password." in visitor.text


async def test_a_disabled_account_is_said_so(runtime: Runtime, visitor: Visitor) -> None:
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    response = await visitor.sign_in("alice")
    assert response.status == 401
    assert "Account is disabled." in visitor.text


async def test_repeated_failures_lock_out_with_the_shared_throttle(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    allowed = runtime.config.limits.failures_per_user_ip
    for _ in range(allowed):
        assert (await visitor.sign_in("alice", "wrong-password")).status == 401

    response = await visitor.sign_in("alice")  # even the right password, while locked out

    assert response.status == 429
    assert "Too many failed sign-ins: try again in" in visitor.text
    # The same throttle as /token: the registry's realm refuses this pair too.
    token = await visitor.client.get("/token", headers=basic("alice", password_of("alice")))
    assert token.status == 429
    clock.advance(runtime.config.limits.lockout_max_seconds + 1)
    assert (await visitor.sign_in("alice")).status == 200


async def test_a_personal_access_token_opens_a_read_only_session(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice", description="reader")
    response = await visitor.sign_in("alice", pat)
    assert response.status == 200
    assert "this session is read-only" in visitor.text
    assert pat not in visitor.text


async def test_two_factor_asks_for_a_code_and_takes_it(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")

    response = await visitor.sign_in("alice")

    assert response.status == 200
    assert '<label for="code">Code</label>' in visitor.text
    assert "Signed in as" not in visitor.text
    ticket_form = visitor.text
    clock.advance(30)
    response = await visitor.post(
        "/sign-in/code", {"ticket": _ticket(ticket_form), "code": totp.at(clock())}
    )
    assert response.status == 200
    assert "Signed in as <strong>alice</strong>" in visitor.text


async def test_a_recovery_code_works_once(runtime: Runtime, visitor: Visitor) -> None:
    _, codes = enable_two_factor(runtime, "alice")
    await visitor.sign_in("alice")
    ticket = _ticket(visitor.text)
    response = await visitor.post("/sign-in/code", {"ticket": ticket, "code": codes[0]})
    assert response.status == 200
    assert "Signed in as <strong>alice</strong>" in visitor.text

    await visitor.post("/sign-out")
    await visitor.sign_in("alice")
    again = await visitor.post("/sign-in/code", {"ticket": _ticket(visitor.text), "code": codes[0]})
    assert again.status == 401


async def test_a_wrong_code_is_said_so_and_the_step_can_be_retried(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    await visitor.sign_in("alice")
    ticket = _ticket(visitor.text)

    response = await visitor.post("/sign-in/code", {"ticket": ticket, "code": "000000"})

    assert response.status == 401
    assert "The two-factor code is not valid." in visitor.text
    assert '<label for="code">Code</label>' in visitor.text
    clock.advance(30)
    response = await visitor.post("/sign-in/code", {"ticket": ticket, "code": totp.at(clock())})
    assert response.status == 200


async def test_a_forged_ticket_is_refused(visitor: Visitor) -> None:
    await visitor.get("/sign-in")
    response = await visitor.post("/sign-in/code", {"ticket": "not-a-ticket", "code": "123456"})
    assert response.status == 401
    assert "sign in again" in visitor.text


def _ticket(page: str) -> str:
    found = re.search(r'name="ticket" value="([^"]+)"', page)
    assert found, page
    return found.group(1)
