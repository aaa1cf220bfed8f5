"""API sessions on a real temp SQLite file: signing in (with a password, a PAT, a second factor),
the bearer values the account and admin APIs accept, and every way a session ends."""

from __future__ import annotations

from pathlib import Path

import pytest

from regauth.domain.callers import ADMIN_KEY, PASSWORD, PAT
from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AuditQuery
from regauth.domain.tokens import parse_token
from regauth.errors import Forbidden, TooManyRequests, Unauthorized
from regauth.runtime import Runtime
from tests.support.builders import (
    OpenRuntime,
    add_admin_key,
    add_token,
    add_user,
    enable_two_factor,
    password_of,
)
from tests.support.clock import FakeClock

INVALID_SESSION = "session is invalid or expired: sign in again"
INVALID_TICKET = "the sign-in ticket is invalid or expired: sign in again"
IP, AGENT = "192.0.2.7", "hub-tool/0.4"


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


async def sign_in(runtime: Runtime, username: str, secret: str | None = None) -> str:
    """`POST /v2/users/login` at the service: the session JWT."""
    credentials = Credentials(username, password_of(username) if secret is None else secret)
    return await runtime.sessions.login(credentials, IP, AGENT)


async def ticket_of(runtime: Runtime, username: str) -> str:
    """The second-step ticket a correct password earns when two-factor auth is on."""
    with pytest.raises(Unauthorized, match="two-factor authentication required") as refused:
        await sign_in(runtime, username)
    return str(refused.value.fields["login_2fa_token"])


def bearer(session: str) -> str:
    return f"Bearer {session}"


async def test_a_password_opens_a_password_session(runtime: Runtime) -> None:
    caller = runtime.sessions.authenticate(bearer(await sign_in(runtime, "alice")), IP, AGENT)
    assert (caller.method, caller.token_id, caller.is_admin) == (PASSWORD, None, False)
    assert caller.user == runtime.users.get("alice")
    assert (caller.actor.name, caller.actor.kind, caller.actor.ip) == ("alice", "user", IP)
    assert caller.actor.user_agent == AGENT
    assert caller.require_account_management("create access tokens") == caller.user


async def test_an_admins_password_session_is_an_admin(runtime: Runtime) -> None:
    add_user(runtime, "root", admin=True)
    caller = runtime.sessions.authenticate(bearer(await sign_in(runtime, "root")), None, None)
    assert caller.is_admin
    caller.require_admin()  # no refusal


@pytest.mark.parametrize("scheme", ["Bearer", "bearer", "JWT", "  Bearer  "])
async def test_bearer_and_jwt_schemes_are_accepted(runtime: Runtime, scheme: str) -> None:
    session = await sign_in(runtime, "alice")
    assert runtime.sessions.authenticate(f"{scheme} {session} ", None, None).user is not None


@pytest.mark.parametrize(
    "authorization", [None, "", "Bearer", "Bearer   ", "Basic YWxpY2U6eA==", "Token abc"]
)
def test_without_a_bearer_value_authentication_is_required(
    runtime: Runtime, authorization: str | None
) -> None:
    with pytest.raises(Unauthorized, match="authentication required: send Authorization: Bearer"):
        runtime.sessions.authenticate(authorization, None, None)


@pytest.mark.parametrize(
    "value",
    ["not-a-jwt", "eyJhbGciOiJIUzI1NiJ9.e30.c2lnbmF0dXJl", "a.b.c"],
)
def test_a_value_that_is_no_session_of_ours_is_refused(runtime: Runtime, value: str) -> None:
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        runtime.sessions.authenticate(bearer(value), None, None)


async def test_a_changed_session_is_refused(runtime: Runtime) -> None:
    header, claims, signature = (await sign_in(runtime, "alice")).split(".")
    flipped = signature[:-2] + ("AA" if signature[-2:] != "AA" else "BB")
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        runtime.sessions.authenticate(bearer(f"{header}.{claims}.{flipped}"), None, None)


async def test_a_session_is_good_only_with_the_keys_that_made_it(
    runtime: Runtime, tmp_path: Path, another_runtime: OpenRuntime
) -> None:
    session = await sign_in(runtime, "alice")
    # Another installation: its own keys folder (a database shared with other keys refuses to
    # open: test_deployment.py).
    other = another_runtime(
        keys={"dir": str(tmp_path / "other")},
        storage={"path": str(tmp_path / "other.db"), "url": ""},
    )
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        other.sessions.authenticate(bearer(session), None, None)
    assert runtime.sessions.authenticate(bearer(session), None, None).user is not None


async def test_a_session_lasts_its_configured_time(runtime: Runtime, clock: FakeClock) -> None:
    ttl = runtime.config.auth.session_ttl_seconds
    session = await sign_in(runtime, "alice")
    clock.advance(ttl - 1)
    assert runtime.sessions.authenticate(bearer(session), None, None).user is not None
    clock.advance(1)  # checked against the injected clock, not the wall clock
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        runtime.sessions.authenticate(bearer(session), None, None)


async def test_a_disabled_accounts_sessions_end(runtime: Runtime) -> None:
    session = await sign_in(runtime, "alice")
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        runtime.sessions.authenticate(bearer(session), None, None)
    runtime.users.set_disabled("alice", CLI_ACTOR, False)
    # Enabled again, the account's sessions from before stay ended: a new one is needed.
    with pytest.raises(Unauthorized, match="or it was disabled, since this session began"):
        runtime.sessions.authenticate(bearer(session), None, None)
    again = await sign_in(runtime, "alice")
    assert runtime.sessions.authenticate(bearer(again), None, None).user is not None


async def test_wrong_credentials_are_refused_and_audited(runtime: Runtime) -> None:
    for username, secret in (("alice", "wrong-password"), ("nobody", "whatever-password")):
        with pytest.raises(Unauthorized, match="incorrect username or password"):
            await sign_in(runtime, username, secret)
    runtime.audit.flush()
    failed = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert sorted((e.target, e.ip, e.user_agent) for e in failed) == [
        ("alice", IP, AGENT),
        ("nobody", IP, AGENT),
    ]


async def test_with_password_logins_off_only_a_pat_signs_in(
    another_runtime: OpenRuntime,
) -> None:
    runtime = another_runtime(auth={"password_logins": False})
    with pytest.raises(Unauthorized, match="password logins are disabled"):
        await sign_in(runtime, "alice")
    session = await sign_in(runtime, "alice", add_token(runtime, "alice"))
    assert runtime.sessions.authenticate(bearer(session), None, None).method == PAT


# -- PAT sessions ---------------------------------------------------------------------------------


async def test_a_pat_opens_a_pat_session_that_reads_but_changes_nothing(
    runtime: Runtime,
) -> None:
    pat = add_token(runtime, "alice")
    caller = runtime.sessions.authenticate(bearer(await sign_in(runtime, "alice", pat)), IP, None)
    assert (caller.method, caller.token_id) == (PAT, parse_token(pat).public_id)
    assert caller.account() == runtime.users.get("alice")
    with pytest.raises(Forbidden, match="personal access token cannot create access tokens"):
        caller.require_account_management("create access tokens")


async def test_an_admins_pat_session_is_no_admin(runtime: Runtime) -> None:
    add_user(runtime, "root", admin=True)
    session = await sign_in(runtime, "root", add_token(runtime, "root"))
    caller = runtime.sessions.authenticate(bearer(session), None, None)
    assert not caller.is_admin
    with pytest.raises(Forbidden, match="personal access token cannot use the admin API"):
        caller.require_admin()


@pytest.mark.parametrize("death", ["deactivate", "delete", "expire"])
async def test_a_pat_session_dies_with_its_pat(
    runtime: Runtime, clock: FakeClock, death: str
) -> None:
    pat = add_token(runtime, "alice", expires_at=int(clock.now) + 600)
    session = await sign_in(runtime, "alice", pat)
    record = runtime.tokens.get(parse_token(pat).public_id)
    if death == "deactivate":
        runtime.tokens.set_active(record, CLI_ACTOR, False)
    elif death == "delete":
        runtime.tokens.delete(record, CLI_ACTOR)
    else:
        clock.advance(600)
    with pytest.raises(Unauthorized, match="personal access token of this session is no longer"):
        runtime.sessions.authenticate(bearer(session), None, None)


async def test_a_password_session_outlives_the_accounts_pats(runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    session = await sign_in(runtime, "alice")
    runtime.tokens.delete(runtime.tokens.get(parse_token(pat).public_id), CLI_ACTOR)
    assert runtime.sessions.authenticate(bearer(session), None, None).method == PASSWORD


# -- tokens as bearer values ----------------------------------------------------------------------


def test_a_pat_itself_is_no_bearer_value(runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    with pytest.raises(Unauthorized, match="personal access tokens are not accepted here"):
        runtime.sessions.authenticate(bearer(pat), None, None)


def test_an_admin_key_is_an_admin_without_an_account(runtime: Runtime) -> None:
    key = add_admin_key(runtime)["Authorization"]
    caller = runtime.sessions.authenticate(key, IP, AGENT)
    assert (caller.method, caller.is_admin, caller.user) == (ADMIN_KEY, True, None)
    public_id = parse_token(key.removeprefix("Bearer ")).public_id
    assert (caller.actor.name, caller.actor.kind) == (f"admin-key:{public_id}", "admin_key")
    with pytest.raises(Forbidden, match="an admin API key has no account of its own"):
        caller.account()
    runtime.usage.flush()  # last use is written with the usage batch
    (listed,) = runtime.admin_keys.list()
    assert (listed.last_used_at, listed.last_used_ip) == (int(runtime.clock()), IP)


def test_a_revoked_or_forged_admin_key_is_refused(runtime: Runtime) -> None:
    key = add_admin_key(runtime)["Authorization"]
    token = key.removeprefix("Bearer ")
    forged = token[:14] + ("A" if token[14] != "A" else "B") + token[15:]
    with pytest.raises(Unauthorized):
        runtime.sessions.authenticate(bearer(forged), None, None)
    runtime.admin_keys.revoke(parse_token(token).public_id, CLI_ACTOR)
    with pytest.raises(Unauthorized, match="admin API key is revoked"):
        runtime.sessions.authenticate(key, None, None)


# -- the second factor ----------------------------------------------------------------------------


async def test_with_two_factor_on_a_password_earns_a_ticket_not_a_session(
    runtime: Runtime, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    ticket = await ticket_of(runtime, "alice")
    with pytest.raises(Unauthorized, match=INVALID_SESSION):
        runtime.sessions.authenticate(bearer(ticket), None, None)
    clock.advance(30)  # the next code
    session = runtime.sessions.complete_second_factor(ticket, totp.at(clock.now), IP, AGENT)
    caller = runtime.sessions.authenticate(bearer(session), None, None)
    assert (caller.method, caller.user) == (PASSWORD, runtime.users.get("alice"))


async def test_a_pat_skips_the_second_step(runtime: Runtime) -> None:
    enable_two_factor(runtime, "alice")
    session = await sign_in(runtime, "alice", add_token(runtime, "alice"))
    assert runtime.sessions.authenticate(bearer(session), None, None).method == PAT


async def test_a_recovery_code_completes_the_second_step_once(runtime: Runtime) -> None:
    _, codes = enable_two_factor(runtime, "alice")
    ticket = await ticket_of(runtime, "alice")
    assert runtime.sessions.complete_second_factor(ticket, codes[0], None, None)
    with pytest.raises(Unauthorized, match="the two-factor code is not valid"):
        runtime.sessions.complete_second_factor(ticket, codes[0], None, None)


async def test_a_wrong_code_is_refused_and_audited(runtime: Runtime) -> None:
    enable_two_factor(runtime, "alice")
    ticket = await ticket_of(runtime, "alice")
    with pytest.raises(Unauthorized, match="the two-factor code is not valid"):
        runtime.sessions.complete_second_factor(ticket, "000000", IP, AGENT)
    runtime.audit.flush()
    reasons = [e.details for e in runtime.audit.list(AuditQuery(action="auth.failed"))]
    assert {"reason": "wrong two-factor code"} in reasons


async def test_wrong_codes_are_throttled_like_wrong_passwords(
    runtime: Runtime, clock: FakeClock
) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    ticket = await ticket_of(runtime, "alice")
    for _ in range(runtime.config.limits.failures_per_user_ip):
        with pytest.raises(Unauthorized):
            runtime.sessions.complete_second_factor(ticket, "000000", IP, None)
    # the next step's code, which the drift window accepts (the current one confirmed the app)
    right = totp.at(clock.now + 30)
    with pytest.raises(TooManyRequests):  # even the right code waits now
        runtime.sessions.complete_second_factor(ticket, right, IP, None)
    # from another address the right code is fine
    assert runtime.sessions.complete_second_factor(ticket, right, "192.0.2.99", None)


async def test_the_ticket_expires_after_five_minutes(runtime: Runtime, clock: FakeClock) -> None:
    totp, _ = enable_two_factor(runtime, "alice")
    ticket = await ticket_of(runtime, "alice")
    clock.advance(300)
    with pytest.raises(Unauthorized, match=INVALID_TICKET):
        runtime.sessions.complete_second_factor(ticket, totp.at(clock.now), None, None)


async def test_a_session_is_no_ticket(runtime: Runtime, clock: FakeClock) -> None:
    session = await sign_in(runtime, "alice")
    totp, _ = enable_two_factor(runtime, "alice")
    clock.advance(30)
    with pytest.raises(Unauthorized, match=INVALID_TICKET):
        runtime.sessions.complete_second_factor(session, totp.at(clock.now), None, None)
    with pytest.raises(Unauthorized, match=INVALID_TICKET):
        runtime.sessions.complete_second_factor("not-a-ticket", totp.at(clock.now), None, None)
