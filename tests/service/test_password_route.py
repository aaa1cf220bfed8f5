"""A password sign-in remembered by the checker costs no store call either: the account and who
checks its password are remembered until data changes, as a verified token is."""

from __future__ import annotations

import asyncio

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR
from regauth.errors import TooManyRequests, Unauthorized
from regauth.runtime import Runtime
from tests.support.builders import add_user, password_of, settled
from tests.support.hashes import count_password_hashes


async def _sign_in(runtime: Runtime, password: str) -> None:
    await runtime.authenticator.authenticate(Credentials("alice", password))


def _count_store_calls(runtime: Runtime, monkeypatch: pytest.MonkeyPatch) -> list[str]:
    calls: list[str] = []
    real = runtime.store.run

    async def counting(fn, /, *args, **kwargs):  # type: ignore[no-untyped-def]
        calls.append(getattr(fn, "__name__", "?"))
        return await real(fn, *args, **kwargs)

    monkeypatch.setattr(runtime.store, "run", counting)
    return calls


async def test_a_remembered_password_sign_in_makes_no_store_call(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    add_user(runtime, "alice")
    settled(runtime)
    await _sign_in(runtime, password_of("alice"))  # hashed, and the account read
    calls = _count_store_calls(runtime, monkeypatch)
    for _ in range(3):
        await _sign_in(runtime, password_of("alice"))
    assert calls == []


async def test_a_disabled_account_or_new_password_is_seen_at_the_next_sign_in(
    runtime: Runtime,
) -> None:
    add_user(runtime, "alice")
    settled(runtime)
    await _sign_in(runtime, password_of("alice"))
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    settled(runtime)
    with pytest.raises(Unauthorized):
        await _sign_in(runtime, password_of("alice"))
    runtime.users.set_disabled("alice", CLI_ACTOR, False)
    runtime.users.reset_password("alice", CLI_ACTOR, "a brand new passphrase")
    settled(runtime)
    with pytest.raises(Unauthorized):
        await _sign_in(runtime, password_of("alice"))
    await _sign_in(runtime, "a brand new passphrase")


async def test_the_same_password_at_once_is_one_check_and_no_429(
    runtime: Runtime, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A pipeline's 20 parallel pulls with the account's password, before any is remembered:
    # one address may have 1 check running and 8 waiting, and the throttle lets 5 reserve.
    add_user(runtime, "alice")
    settled(runtime)
    hashed = count_password_hashes(monkeypatch)
    credentials = Credentials("alice", password_of("alice"))
    results = await asyncio.gather(
        *(
            runtime.authenticator.authenticate_client(credentials, "198.51.100.9", "docker")
            for _ in range(20)
        ),
        return_exceptions=True,
    )
    assert [r for r in results if isinstance(r, BaseException)] == []
    assert len(hashed) == 1


async def test_the_same_wrong_password_at_once_is_one_check_and_every_one_counts(
    runtime: Runtime,
) -> None:
    add_user(runtime, "alice")
    settled(runtime)
    credentials = Credentials("alice", "not alice's password")
    results = await asyncio.gather(
        *(
            runtime.authenticator.authenticate_client(credentials, "198.51.100.9", "t")
            for _ in range(20)
        ),
        return_exceptions=True,
    )
    assert all(isinstance(r, Unauthorized) for r in results)
    with pytest.raises(TooManyRequests):  # each was counted: the pair is locked out now
        await runtime.authenticator.authenticate_client(
            Credentials("alice", password_of("alice")), "198.51.100.9", "t"
        )
