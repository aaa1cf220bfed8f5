"""The leaked-credential revocation limit, in the service: `revocations_per_minute` calls per
client address per minute, counted in a file every process of the machine shares."""

from __future__ import annotations

from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.models import Actor
from regauth.errors import TooManyRequests
from regauth.runtime import Runtime
from regauth.store.failures import SharedTable
from tests.support.builders import OpenRuntime, add_token, add_user, make_config
from tests.support.clock import FakeClock

REPORTER = Actor(name="reporter", kind="anonymous", ip="203.0.113.5", user_agent="scanner/1")


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, limits={"revocations_per_minute": 3})


@pytest.fixture
def second_worker(another_runtime: OpenRuntime) -> Runtime:
    """Another process's runtime on the same database, as each worker opens its own."""
    return another_runtime()


def _outcomes(runtimes: list[Runtime], reporter: Actor, calls: int) -> list[int | str]:
    """Each call's outcome (revoked count, or "429 <Retry-After>"), the runtimes in turn."""
    outcomes: list[int | str] = []
    for i in range(calls):
        try:
            outcomes.append(runtimes[i % len(runtimes)].revocation.revoke([], reporter))
        except TooManyRequests as exc:
            outcomes.append(f"429 {exc.retry_after}")
    return outcomes


def test_two_workers_give_the_allowance_once(runtime: Runtime, second_worker: Runtime) -> None:
    # With a count per process each would allow 3: six calls would pass.
    assert _outcomes([runtime, second_worker], REPORTER, 8) == [0, 0, 0] + ["429 60"] * 5


def test_the_allowance_is_per_minute(runtime: Runtime, clock: FakeClock) -> None:
    assert _outcomes([runtime], REPORTER, 4) == [0, 0, 0, "429 60"]
    clock.advance(20)
    assert _outcomes([runtime], REPORTER, 1) == ["429 40"]  # not a lock-out that lapses sooner
    clock.advance(40)
    assert _outcomes([runtime], REPORTER, 4) == [0, 0, 0, "429 60"]  # nor a longer one


def test_refused_calls_do_not_extend_the_wait(runtime: Runtime, clock: FakeClock) -> None:
    assert _outcomes([runtime], REPORTER, 50)[-1] == "429 60"
    clock.advance(60)
    assert _outcomes([runtime], REPORTER, 1) == [0]


def test_other_addresses_have_their_own_allowance(runtime: Runtime) -> None:
    _outcomes([runtime], REPORTER, 5)
    other = Actor(name="reporter", kind="anonymous", ip="198.51.100.8")
    assert _outcomes([runtime], other, 3) == [0, 0, 0]


def test_a_refused_call_revokes_nothing(runtime: Runtime) -> None:
    add_user(runtime, "alice", "alice-password")
    leaked = add_token(runtime, "alice")
    _outcomes([runtime], REPORTER, 3)
    with pytest.raises(TooManyRequests):
        runtime.revocation.revoke([leaked], REPORTER)
    assert runtime.store.get_token(leaked[4:14]).active  # type: ignore[union-attr]


def test_the_sign_in_throttle_is_not_touched(
    runtime: Runtime, config: Config, clock: FakeClock
) -> None:
    """Its own file: revocation calls neither wake the sign-in throttle's fast path (idle while
    nobody has failed to sign in) nor take its slots."""
    _outcomes([runtime], REPORTER, 5)
    sign_ins = SharedTable.beside(config.storage.path, secret=runtime.keyring.hmac_key)
    assert not sign_ins.active(clock())
