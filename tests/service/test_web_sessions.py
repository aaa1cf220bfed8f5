"""The web page's server-side sessions (on a real temp SQLite file, or PostgreSQL with
TEST_STORAGE_BACKEND=postgresql): only a hash stored, the caller behind a secret, the sliding
last-seen time, the timeouts, and every way a session ends."""

from __future__ import annotations

import pytest

from regauth.domain.callers import PASSWORD, PAT, ApiCaller
from regauth.domain.models import CLI_ACTOR, AuditQuery, TokenRecord, User
from regauth.errors import NotFoundInStore, Unauthorized
from regauth.runtime import Runtime
from regauth.services.rotation import secret_fingerprint
from regauth.services.web_sessions import ENDED, TOUCH_SECONDS
from tests.support.builders import add_token, add_user, enable_two_factor
from tests.support.clock import FakeClock
from tests.support.secrets import remember

IP, AGENT = "192.0.2.7", "Firefox/128"


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def account(runtime: Runtime, name: str = "alice") -> User:
    return runtime.users.get(name)


def by_password(runtime: Runtime, name: str = "alice") -> ApiCaller:
    user = account(runtime, name)
    return runtime.sessions.caller(user.name, user.id, PASSWORD, None, IP, AGENT)


def begin(runtime: Runtime, caller: ApiCaller | None = None) -> str:
    return remember(runtime.web_sessions.begin(caller or by_password(runtime), IP, AGENT))


def ended(runtime: Runtime, secret: str) -> bool:
    try:
        runtime.web_sessions.authenticate(secret, IP, AGENT)
    except Unauthorized:
        return True
    return False


def test_only_a_keyed_hash_of_the_secret_is_stored(runtime: Runtime) -> None:
    secret = begin(runtime)

    (stored,) = runtime.store.list_web_sessions(account(runtime).id, now=int(runtime.clock()))

    assert stored.id == runtime.web_sessions.session_id(secret)
    assert secret not in repr(stored)
    assert (stored.read_only, stored.token_id) == (False, None)
    assert (stored.created_ip, stored.user_agent) == (IP, AGENT)
    assert stored.expires_at == stored.created_at + runtime.config.auth.session_ttl_seconds


def test_the_secret_stands_for_its_caller(runtime: Runtime) -> None:
    secret = begin(runtime)

    caller, session = runtime.web_sessions.authenticate(secret, "198.51.100.1", "curl/8")

    assert (caller.method, caller.user, caller.token_id) == (PASSWORD, account(runtime), None)
    assert (caller.actor.ip, caller.actor.user_agent) == ("198.51.100.1", "curl/8")
    assert session.id == runtime.web_sessions.session_id(secret)


def begin_with_a_pat(runtime: Runtime) -> tuple[TokenRecord, str]:
    """A page session of alice's opened with a new PAT of hers (its secret's fingerprint, as
    a sign-in records it): the token, and the cookie's secret."""
    add_token(runtime, "alice", description="reader")
    (pat,) = runtime.tokens.list_for(account(runtime))
    user = account(runtime)
    opened_with = secret_fingerprint(pat.secret_hash)
    caller = runtime.sessions.caller(
        user.name, user.id, PAT, pat.id, IP, AGENT, token_secret=opened_with
    )
    return pat, begin(runtime, caller)


def test_a_pat_opened_session_is_read_only_and_dies_with_its_token(runtime: Runtime) -> None:
    pat, secret = begin_with_a_pat(runtime)

    caller, session = runtime.web_sessions.authenticate(secret, IP, AGENT)
    assert (caller.method, caller.token_id, session.read_only) == (PAT, pat.id, True)

    runtime.tokens.set_active(pat, CLI_ACTOR, False)
    with pytest.raises(Unauthorized, match="personal access token of this session"):
        runtime.web_sessions.authenticate(secret, IP, AGENT)
    runtime.tokens.delete(pat, CLI_ACTOR)
    # Deleting the token took the session's row with it.
    assert runtime.store.find_web_session(session.id) is None


def test_a_pat_opened_session_ends_when_its_secret_is_regenerated(runtime: Runtime) -> None:
    pat, secret = begin_with_a_pat(runtime)
    _, session = runtime.web_sessions.authenticate(secret, IP, AGENT)
    assert session.token_secret == secret_fingerprint(pat.secret_hash)  # stored, read back

    remember(str(runtime.rotation.regenerate(pat, CLI_ACTOR).token))

    with pytest.raises(Unauthorized, match="was regenerated: sign in again"):
        runtime.web_sessions.authenticate(secret, IP, AGENT)


def test_the_list_leaves_out_sessions_whose_pat_or_secret_has_ended(runtime: Runtime) -> None:
    """ "Signed-in browsers" shows sessions that may still be used: a PAT session of a
    regenerated or deactivated token is not one, though its row waits for the timeout."""
    pat, by_pat = begin_with_a_pat(runtime)
    by_pass = begin(runtime)
    ids = {runtime.web_sessions.session_id(by_pat), runtime.web_sessions.session_id(by_pass)}
    assert {s.id for s in runtime.web_sessions.list_for(account(runtime))} == ids

    remember(str(runtime.rotation.regenerate(pat, CLI_ACTOR).token))

    listed = runtime.web_sessions.list_for(account(runtime))
    assert [s.id for s in listed] == [runtime.web_sessions.session_id(by_pass)]


def test_a_pat_session_that_does_not_say_which_secret_opened_it_is_refused(
    runtime: Runtime,
) -> None:
    """One stored before its secret was recorded, or a forged claim: it cannot be told from
    a session of a replaced secret, so it ends."""
    add_token(runtime, "alice")
    (pat,) = runtime.tokens.list_for(account(runtime))
    user = account(runtime)
    with pytest.raises(Unauthorized, match="was regenerated"):
        runtime.sessions.caller(user.name, user.id, PAT, pat.id, IP, AGENT)
    with pytest.raises(Unauthorized, match="was regenerated"):
        runtime.sessions.caller(user.name, user.id, PAT, pat.id, IP, AGENT, token_secret="0" * 32)


def test_an_unknown_secret_is_refused(runtime: Runtime) -> None:
    begin(runtime)
    with pytest.raises(Unauthorized, match=ENDED):
        runtime.web_sessions.authenticate(remember("x" * 43), IP, AGENT)


def test_ending_a_session_ends_it_for_every_holder_of_the_secret(runtime: Runtime) -> None:
    secret, other = begin(runtime), begin(runtime)

    runtime.web_sessions.end(secret)

    assert ended(runtime, secret)
    assert not ended(runtime, other)


def test_last_seen_is_written_at_most_once_a_minute(runtime: Runtime, clock: FakeClock) -> None:
    secret = begin(runtime)
    start = int(clock())

    def last_seen() -> int:
        return runtime.web_sessions.authenticate(secret, IP, AGENT)[1].last_seen_at

    clock.advance(TOUCH_SECONDS - 1)
    assert last_seen() == start  # read, not written
    assert last_seen() == start
    clock.advance(1)
    assert last_seen() == start  # the row as read; this read wrote the new time
    assert last_seen() == start + TOUCH_SECONDS


def test_the_absolute_timeout_ends_a_session_however_active(
    runtime: Runtime, clock: FakeClock
) -> None:
    secret = begin(runtime)
    ttl = runtime.config.auth.session_ttl_seconds
    for _ in range(ttl // TOUCH_SECONDS - 1):
        clock.advance(TOUCH_SECONDS)
        assert not ended(runtime, secret)
    clock.advance(ttl - (ttl // TOUCH_SECONDS - 1) * TOUCH_SECONDS)

    assert ended(runtime, secret)


def test_an_idle_session_ends_on_the_server_too(runtime: Runtime, clock: FakeClock) -> None:
    secret = begin(runtime)
    idle = runtime.config.web.idle_timeout_seconds
    # The server's last_seen_at lags a browser's last request by up to a minute: it ends a
    # session only past that slack; the exact idle timeout is the cookie's.
    clock.advance(idle + TOUCH_SECONDS)
    assert not ended(runtime, secret)

    other = begin(runtime)
    clock.advance(idle + TOUCH_SECONDS + 1)
    assert ended(runtime, other)


def test_a_sign_in_purges_the_sessions_past_a_timeout(runtime: Runtime, clock: FakeClock) -> None:
    idle = runtime.config.web.idle_timeout_seconds
    stale = begin(runtime)
    clock.advance(idle + TOUCH_SECONDS + 1)
    fresh = begin(runtime)

    ids = {s.id for s in runtime.store.list_web_sessions(account(runtime).id, now=int(clock()))}

    assert ids == {runtime.web_sessions.session_id(fresh)}
    assert runtime.store.find_web_session(runtime.web_sessions.session_id(stale)) is None


def test_the_list_holds_the_accounts_live_sessions_only(runtime: Runtime, clock: FakeClock) -> None:
    add_user(runtime, "bob")
    begin(runtime, by_password(runtime, "bob"))
    half = runtime.config.web.idle_timeout_seconds // 2
    begin(runtime)  # idle past the server's timeout by the time of the list
    clock.advance(half)
    new = begin(runtime)
    clock.advance(half + TOUCH_SECONDS + 1)

    listed = runtime.web_sessions.list_for(account(runtime))

    assert [s.id for s in listed] == [runtime.web_sessions.session_id(new)]
    assert {s.user_name for s in listed} == {"alice"}


def test_one_session_is_ended_only_by_its_own_account(runtime: Runtime) -> None:
    add_user(runtime, "bob")
    bobs = begin(runtime, by_password(runtime, "bob"))
    bobs_id = runtime.web_sessions.session_id(bobs)

    with pytest.raises(NotFoundInStore):
        runtime.web_sessions.end_one(account(runtime), bobs_id)
    assert not ended(runtime, bobs)

    runtime.web_sessions.end_one(account(runtime, "bob"), bobs_id)
    assert ended(runtime, bobs)


def test_a_new_password_ends_every_session_and_says_so(runtime: Runtime) -> None:
    one, two = begin(runtime), begin(runtime)

    runtime.users.reset_password("alice", CLI_ACTOR, remember("a-brand-new-password"))

    assert ended(runtime, one) and ended(runtime, two)
    (event,) = runtime.audit.list(AuditQuery(action="user.password_reset"))
    assert event.details == {"session_tokens_ended": 0, "web_sessions_ended": 2}


def test_disabling_the_account_ends_its_sessions(runtime: Runtime) -> None:
    add_user(runtime, "bob")
    secret, bobs = begin(runtime), begin(runtime, by_password(runtime, "bob"))

    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    runtime.users.set_disabled("alice", CLI_ACTOR, False)

    assert ended(runtime, secret)
    assert not ended(runtime, bobs)
    (event,) = runtime.audit.list(AuditQuery(action="user.disable"))
    assert event.details == {"web_sessions_ended": 1}


def test_turning_two_factor_on_and_off_ends_the_sessions(runtime: Runtime) -> None:
    before = begin(runtime)
    enable_two_factor(runtime, "alice")
    assert ended(runtime, before)
    (enabled,) = runtime.audit.list(AuditQuery(action="2fa.enable"))
    assert enabled.details["web_sessions_ended"] == 1

    during = begin(runtime)
    runtime.two_factor.disable(account(runtime), CLI_ACTOR, None)  # an admin's reset

    assert ended(runtime, during)
    (disabled,) = runtime.audit.list(AuditQuery(action="2fa.disable"))
    assert disabled.details == {"web_sessions_ended": 1}


def test_a_session_of_a_disabled_account_is_refused(runtime: Runtime) -> None:
    secret = begin(runtime)
    # Past the service, straight in the store: the account check still refuses.
    runtime.store.update_user("alice", disabled=True)

    with pytest.raises(Unauthorized, match="session is invalid or expired"):
        runtime.web_sessions.authenticate(secret, IP, AGENT)
