"""Two-factor auth: TOTP enrollment (time injected), recovery codes, and what it changes at sign-in."""

from __future__ import annotations

import pyotp
import pytest

from regauth.runtime import Runtime
from tests.support.builders import (
    Client,
    add_admin_key,
    add_token,
    add_user,
    basic,
    docker_login,
    sign_in,
    sign_in_ticket,
    sign_in_with_code,
)
from tests.support.clock import FakeClock

PAT_REQUIRED = (
    "two-factor authentication is enabled for this account: "
    "use a personal access token instead of the password"
)


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def enable(client: Client, clock: FakeClock) -> tuple[pyotp.TOTP, list[str]]:
    auth = await sign_in(client, "alice")
    enrolled = await (await client.post("/v2/account/2fa/enroll", headers=auth)).json()
    assert enrolled["otpauth_uri"].startswith("otpauth://totp/regauth:alice?secret=")
    totp = pyotp.TOTP(enrolled["secret"])
    response = await client.post(
        "/v2/account/2fa/confirm", json={"code": totp.at(clock.now)}, headers=auth
    )
    assert response.status == 200, await response.text()
    return totp, (await response.json())["recovery_codes"]


async def test_enrollment_needs_a_valid_first_code(client: Client, clock: FakeClock) -> None:
    auth = await sign_in(client, "alice")
    enrolled = await (await client.post("/v2/account/2fa/enroll", headers=auth)).json()
    totp = pyotp.TOTP(enrolled["secret"])
    wrong = await client.post(
        "/v2/account/2fa/confirm", json={"code": totp.at(clock.now - 300)}, headers=auth
    )
    assert wrong.status == 400
    # still off: the password keeps working at /token
    assert (await client.get("/token", headers=basic("alice", "alice-password"))).status == 200


async def test_with_2fa_the_password_is_refused_at_token_but_a_pat_works(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice")
    await enable(client, clock)
    response = await client.get("/token?service=registry", headers=basic("alice", "alice-password"))
    assert response.status == 401
    assert (await response.json())["details"] == PAT_REQUIRED
    response = await client.post(
        "/token",
        data={"grant_type": "password", "username": "alice", "password": "alice-password"},
    )
    assert response.status == 401 and (await response.json())["details"] == PAT_REQUIRED
    assert (await client.get("/token", headers=basic("alice", pat))).status == 200


async def test_login_answers_the_second_step_challenge(client: Client, clock: FakeClock) -> None:
    totp, _ = await enable(client, clock)
    clock.advance(30)  # the next code
    response = await client.post(
        "/v2/users/login", json={"username": "alice", "password": "alice-password"}
    )
    assert response.status == 401
    challenge = await response.json()
    assert challenge["detail"].startswith("two-factor authentication required")
    ticket = challenge["login_2fa_token"]
    bad = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": "000000"}
    )
    assert bad.status == 401
    good = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": totp.at(clock.now)}
    )
    assert good.status == 200
    token = (await good.json())["token"]
    listed = await client.get("/v2/access-tokens", headers={"Authorization": f"Bearer {token}"})
    assert listed.status == 200
    # the same code cannot be used twice
    again = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": totp.at(clock.now)}
    )
    assert again.status == 401
    # the ticket is no session
    assert (
        await client.get("/v2/access-tokens", headers={"Authorization": f"Bearer {ticket}"})
    ).status == 401


async def test_recovery_codes_work_once(client: Client, clock: FakeClock) -> None:
    _, codes = await enable(client, clock)
    assert len(codes) == 10 and len(set(codes)) == 10
    ticket = await sign_in_ticket(client, "alice")
    first = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": codes[0]}
    )
    assert first.status == 200
    second = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": codes[0]}
    )
    assert second.status == 401


async def test_the_ticket_expires(client: Client, clock: FakeClock) -> None:
    totp, _ = await enable(client, clock)
    ticket = await sign_in_ticket(client, "alice")
    clock.advance(301)
    response = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": totp.at(clock.now)}
    )
    assert response.status == 401


async def test_disable_needs_a_code_and_a_password_session(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice")
    totp, codes = await enable(client, clock)
    pat_session = await sign_in(
        client, "alice", pat
    )  # a PAT skips the second step, as on Docker Hub
    refused = await client.post(
        "/v2/account/2fa/disable", json={"code": totp.at(clock.now)}, headers=pat_session
    )
    assert refused.status == 403
    clock.advance(30)
    auth = await sign_in_with_code(client, "alice", totp.at(clock.now))
    wrong = await client.post("/v2/account/2fa/disable", json={"code": "123456"}, headers=auth)
    assert wrong.status == 401
    ok = await client.post("/v2/account/2fa/disable", json={"code": codes[3]}, headers=auth)
    assert ok.status == 204
    assert (await client.get("/token", headers=basic("alice", "alice-password"))).status == 200


async def test_an_admin_can_reset_a_lost_device(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    await enable(client, clock)
    response = await client.patch(
        "/admin/v1/users/alice", json={"two_factor": False}, headers=add_admin_key(runtime)
    )
    assert response.status == 200
    assert (await response.json())["two_factor"] is False
    assert (await client.get("/token", headers=basic("alice", "alice-password"))).status == 200


async def test_enabling_2fa_ends_password_only_sessions(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    refresh_token = (await docker_login(client, "alice"))["refresh_token"]
    await enable(client, clock)
    response = await client.post(
        "/token",
        data={"grant_type": "refresh_token", "refresh_token": refresh_token, "service": "registry"},
    )
    assert response.status == 401
    assert runtime.tokens.list_for(runtime.users.get("alice")) == []


SIGN_IN_CHANGED = (
    "the account's password or two-factor setting changed, or it was disabled, since this "
    "session began: sign in again"
)


async def test_turning_2fa_on_or_off_ends_the_api_sessions_from_before(
    client: Client, runtime: Runtime, clock: FakeClock
) -> None:
    before = await sign_in(client, "alice")
    totp, _ = await enable(client, clock)  # from a session of its own
    response = await client.get("/v2/access-tokens", headers=before)
    assert (response.status, (await response.json())["detail"]) == (401, SIGN_IN_CHANGED)

    clock.advance(30)
    with_code = await sign_in_with_code(client, "alice", totp.at(clock.now))
    assert (await client.get("/v2/access-tokens", headers=with_code)).status == 200
    reset = await client.patch(
        "/admin/v1/users/alice", json={"two_factor": False}, headers=add_admin_key(runtime)
    )
    assert reset.status == 200  # an admin's reset of a lost device: a stolen session ends too
    assert (await client.get("/v2/access-tokens", headers=with_code)).status == 401


@pytest.mark.parametrize("change", [{"password": "alice-new-password"}, {"disabled": True}])
async def test_a_sign_in_ticket_dies_with_a_new_password_or_a_disabled_account(
    client: Client, runtime: Runtime, clock: FakeClock, change: dict[str, object]
) -> None:
    totp, _ = await enable(client, clock)
    ticket = await sign_in_ticket(client, "alice")
    admin = add_admin_key(runtime)
    assert (await client.patch("/admin/v1/users/alice", json=change, headers=admin)).status == 200
    if "disabled" in change:
        enabled = await client.patch(
            "/admin/v1/users/alice", json={"disabled": False}, headers=admin
        )
        assert enabled.status == 200
    clock.advance(30)
    response = await client.post(
        "/v2/users/2fa-login", json={"login_2fa_token": ticket, "code": totp.at(clock.now)}
    )
    assert (response.status, (await response.json())["detail"]) == (
        401,
        "the sign-in ticket is invalid or expired: sign in again",
    )
