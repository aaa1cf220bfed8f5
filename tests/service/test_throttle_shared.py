"""One sign-in allowance for the whole deployment: attempts spread over several workers (a
host's, sharing a mapped file) or replicas (sharing PostgreSQL) are counted together, both
one after another and all at once."""

from __future__ import annotations

import asyncio
from pathlib import Path

from regauth.domain.credentials import Credentials
from regauth.errors import TooManyRequests, Unauthorized
from regauth.runtime import Runtime
from tests.support.builders import OpenRuntime, add_user, reconfigured

IP = "198.51.100.7"


def _replica(runtime: Runtime, another_runtime: OpenRuntime, tmp_path: Path, n: int) -> Runtime:
    """Another worker of this host (SQLite: the same file), or, on PostgreSQL, a replica on
    another host: its own data folder, so nothing on disk is shared but the database."""
    if runtime.store.backend == "postgresql":
        replica = another_runtime(storage={"path": str(tmp_path / f"host{n}" / "regauth.db")})
    else:
        replica = another_runtime()
    replica.store.listen()
    return replica


async def _outcome(runtime: Runtime, password: str) -> str:
    try:
        await runtime.authenticator.authenticate_client(Credentials("alice", password), IP, "t")
    except TooManyRequests:
        return "429"
    except Unauthorized:
        return "401"
    return "200"


async def test_failures_spread_over_replicas_count_once(
    runtime: Runtime, another_runtime: OpenRuntime, tmp_path: Path
) -> None:
    add_user(runtime, "alice", "the-right-password")
    replicas = [runtime, *(_replica(runtime, another_runtime, tmp_path, n) for n in (2, 3))]
    allowance = runtime.config.limits.failures_per_user_ip
    outcomes = [await _outcome(replicas[i % 3], f"wrong-{i}") for i in range(allowance * 3)]
    assert outcomes.count("401") == allowance  # not 3 x the allowance
    assert set(outcomes[allowance:]) == {"429"}
    # Locked out everywhere, even with the right password.
    assert {await _outcome(r, "the-right-password") for r in replicas} == {"429"}


async def test_a_burst_spread_over_replicas_checks_at_most_the_allowance(
    runtime: Runtime, another_runtime: OpenRuntime, tmp_path: Path
) -> None:
    add_user(runtime, "alice", "the-right-password")
    replicas = [runtime, _replica(runtime, another_runtime, tmp_path, 2)]
    allowance = runtime.config.limits.failures_per_user_ip
    outcomes = await asyncio.gather(
        *(
            # Distinct guesses: the same password at once shares one check (it is one guess).
            _outcome(replicas[i % 2], f"wrong-{i}" if i != 17 else "the-right-password")
            for i in range(60)
        )
    )
    assert outcomes.count("401") <= allowance
    assert outcomes.count("200") <= 1  # the right one may land inside the allowance, or not
    assert outcomes.count("429") >= 60 - allowance - 1


async def test_a_reload_of_the_limits_reaches_the_sign_in_throttle(runtime: Runtime) -> None:
    add_user(runtime, "alice", password="right-password")
    assert [await _outcome(runtime, "wrong") for _ in range(2)] == ["401", "401"]
    # Five failures allowed by default (the fourth would be a 401); with two, the next failure
    # counts against the new allowance and locks the pair out.
    runtime.settings.current = reconfigured(runtime.config, limits={"failures_per_user_ip": 2})
    assert [await _outcome(runtime, "wrong") for _ in range(2)] == ["401", "429"]
