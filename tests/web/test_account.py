"""The account's security pages: two-factor enrollment from the page's own secret, recovery
codes once, disabling with a code, the sign-in sessions, and the password change."""

from __future__ import annotations

import re

import pyotp
import pytest
from pytest_aiohttp import AiohttpClient

from regauth.runtime import Runtime
from regauth.web.app import create_site
from tests.support.builders import add_token, add_user, enable_two_factor, password_of
from tests.support.clock import FakeClock
from tests.support.secrets import remember
from tests.web.conftest import Visitor


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def _secret(page: str) -> str:
    found = re.search(r'id="secret" readonly value="([A-Z2-7]+)"', page)
    assert found, page
    return remember(found.group(1))


def _session_token(runtime: Runtime) -> str:
    created = runtime.tokens.create_session_token(
        runtime.users.get("alice"), client_id="docker", ip="10.0.0.7", user_agent="docker/27.0"
    )
    remember(str(created.token))
    return created.record.uuid


async def test_enrolling_from_the_page_turns_two_factor_on(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/security")
    assert "Two-factor authentication is <strong>off</strong>" in visitor.text

    response = await visitor.post("/settings/security/2fa/enroll")

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    assert 'src="data:image/svg+xml' in visitor.text
    totp = pyotp.TOTP(_secret(visitor.text))
    assert not runtime.users.get("alice").totp_enabled  # not before a first code
    await visitor.post("/settings/security/2fa/confirm", {"code": totp.at(clock())})
    codes = re.findall(r"<li><code>([a-z0-9-]+)</code></li>", visitor.text)
    assert len(codes) == 10
    for code in codes:
        remember(code)
    assert "will not be shown again" in visitor.text
    assert runtime.users.get("alice").totp_enabled

    await visitor.post("/sign-out")
    await visitor.sign_in("alice")
    assert '<label for="code">Code</label>' in visitor.text


async def test_a_wrong_first_code_leaves_two_factor_off(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/security")
    await visitor.post("/settings/security/2fa/enroll")
    response = await visitor.post("/settings/security/2fa/confirm", {"code": "000000"})
    assert response.status == 400
    assert "The code is not valid" in visitor.text
    assert not runtime.users.get("alice").totp_enabled


async def test_disabling_needs_a_valid_code(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    await visitor.sign_in("alice")
    ticket = re.search(r'name="ticket" value="([^"]+)"', visitor.text)
    assert ticket
    clock.advance(30)
    await visitor.post("/sign-in/code", {"ticket": ticket.group(1), "code": totp.at(clock())})
    await visitor.get("/settings/security")
    assert "Two-factor authentication is <strong>on</strong>" in visitor.text

    refused = await visitor.post("/settings/security/2fa/disable", {"code": "123456"})
    assert refused.status == 401
    assert runtime.users.get("alice").totp_enabled

    await visitor.get("/settings/security")
    clock.advance(30)
    await visitor.post("/settings/security/2fa/disable", {"code": totp.at(clock())})
    assert not runtime.users.get("alice").totp_enabled
    assert "Two-factor authentication is <strong>off</strong>" in visitor.text


async def test_a_pat_session_cannot_enroll(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice", add_token(runtime, "alice"))
    await visitor.get("/settings/security")
    assert "Enable two-factor authentication" not in visitor.text
    response = await visitor.post("/settings/security/2fa/enroll")
    assert response.status == 403
    assert not runtime.users.get("alice").totp_enabled


async def test_signing_out_of_a_docker_session(runtime: Runtime, visitor: Visitor) -> None:
    uuid = _session_token(runtime)
    add_token(runtime, "alice", description="manual one")
    manual = next(
        r.uuid
        for r in runtime.tokens.list_for(runtime.users.get("alice"))
        if r.generated_by == "manual"
    )
    await visitor.sign_in("alice")
    await visitor.get("/settings/security")
    assert "from 10.0.0.7 with docker/27.0" in visitor.text
    assert "manual one" not in visitor.text

    assert (await visitor.post(f"/settings/security/sessions/{manual}/end")).status == 400
    await visitor.get("/settings/security")
    await visitor.post(f"/settings/security/sessions/{uuid}/end")

    left = [r.generated_by for r in runtime.tokens.list_for(runtime.users.get("alice"))]
    assert left == ["manual"]
    assert "No sign-in sessions." in visitor.text


NEW_PASSWORD = remember("a-new-password-for-alice")


@pytest.mark.parametrize(
    ("current", "confirm", "status", "message"),
    [
        ("not-her-password", NEW_PASSWORD, 401, "The current password is not correct."),
        (password_of("alice"), "something-else", 400, "The new passwords do not match."),
    ],
)
async def test_a_refused_password_change_changes_nothing(
    runtime: Runtime, visitor: Visitor, current: str, confirm: str, status: int, message: str
) -> None:
    before = runtime.users.get("alice").password_hash
    await visitor.sign_in("alice")
    await visitor.get("/settings/password")
    form = {"current_password": current, "new_password": NEW_PASSWORD, "confirm_password": confirm}
    response = await visitor.post("/settings/password", form)
    assert response.status == status
    assert message in visitor.text
    assert runtime.users.get("alice").password_hash == before


async def test_a_token_is_not_the_current_password(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice")
    await visitor.sign_in("alice")
    await visitor.get("/settings/password")
    form = {"current_password": pat, "new_password": NEW_PASSWORD, "confirm_password": NEW_PASSWORD}
    assert (await visitor.post("/settings/password", form)).status == 401


async def test_a_new_password_ends_the_other_sessions_and_keeps_this_one(
    runtime: Runtime, visitor: Visitor, aiohttp_client: AiohttpClient
) -> None:
    other = Visitor(await aiohttp_client(create_site(runtime)))
    await other.sign_in("alice")
    _session_token(runtime)
    await visitor.sign_in("alice")
    await visitor.get("/settings/password")

    form = {
        "current_password": password_of("alice"),
        "new_password": NEW_PASSWORD,
        "confirm_password": NEW_PASSWORD,
    }
    response = await visitor.post("/settings/password", form)

    assert response.status == 200
    assert "Your password was changed" in visitor.text
    assert (await visitor.get("/settings/tokens")).status == 200
    assert (await other.get("/settings/tokens")).status == 401
    assert "session has ended" in other.text  # ended on the server
    assert runtime.tokens.list_for(runtime.users.get("alice")) == []  # docker's session ended
    assert (await other.sign_in("alice")).status == 401
    assert (await other.sign_in("alice", NEW_PASSWORD)).status == 200
