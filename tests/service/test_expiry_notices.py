"""Expiry notices on the injected clock: `token.expiring` once, `expiring_days` before a token's
expiry, `token.expired` once when it passes, for personal and organization tokens, whichever
and however many workers look."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.hygiene import TOKEN_EXPIRED, TOKEN_EXPIRING, NotificationQuery
from regauth.domain.models import CLI_ACTOR, PULL
from regauth.domain.tokens import parse_token
from regauth.runtime import Runtime
from tests.support.builders import OpenRuntime, add_org, add_token, add_user, reconfigured
from tests.support.clock import FakeClock
from tests.support.hygiene import events, webhook_settings

DAY = 86400


@pytest.fixture
def config(config: Config, tmp_path: Path) -> Config:
    hook = webhook_settings("http://127.0.0.1:9/hooks", tmp_path / "webhook.key")
    return reconfigured(config, notifications={**hook, "expiring_days": 7})


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice", None)
    add_user(runtime, "olivia", None)


def test_a_token_is_told_once_before_and_once_at_its_expiry(
    runtime: Runtime, clock: FakeClock
) -> None:
    token = add_token(runtime, "alice", expires_at=int(clock()) + 10 * DAY)
    assert runtime.expiry.sweep() == 0
    clock.advance(3 * DAY - 1)
    assert runtime.expiry.sweep() == 0  # 7 days and a second left
    clock.advance(1)
    assert runtime.expiry.sweep() == 1
    assert runtime.expiry.sweep() == 0  # once
    clock.advance(6 * DAY)
    assert runtime.expiry.sweep() == 0
    clock.advance(DAY)
    assert runtime.expiry.sweep() == 1
    clock.advance(DAY)
    assert runtime.expiry.sweep() == 0

    assert events(runtime) == [TOKEN_EXPIRING, TOKEN_EXPIRED]
    expiring, expired = reversed(runtime.notifier.list(NotificationQuery()))
    body = json.loads(expiring.payload)
    assert body["token"]["id"] == parse_token(token).public_id
    assert body["token"]["owner"] == "alice"
    assert body["details"] == {"days_left": 7, "expires_at": "2027-01-25T08:00:00Z"}
    assert json.loads(expired.payload)["details"] == {"expired_at": "2027-01-25T08:00:00Z"}


def test_organization_tokens_are_told_and_session_inactive_and_long_expired_ones_not(
    runtime: Runtime, clock: FakeClock
) -> None:
    org = add_org(runtime, "acme", "olivia")
    runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({PULL})},
        public_read=False,
        expires_at=int(clock()) + 2 * DAY,
    )
    alice = runtime.users.get("alice")
    runtime.tokens.create_session_token(alice, client_id="docker", ip=None, user_agent=None)
    inactive = add_token(runtime, "alice", expires_at=int(clock()) + 2 * DAY)
    record = runtime.tokens.get(parse_token(inactive).public_id)
    runtime.tokens.set_active(record, CLI_ACTOR, False)
    add_token(runtime, "alice", expires_at=int(clock()) + DAY)
    clock.advance(40 * DAY)  # the session token expired 10 days ago: not told
    runtime.expiry.sweep()
    assert events(runtime) == []  # all of them expired more than the look-back ago

    add_token(runtime, "alice", expires_at=int(clock()) + DAY)
    runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="deploy",
        description="",
        resources={"acme/app": frozenset({PULL})},
        public_read=False,
        expires_at=int(clock()) + DAY,
    )
    runtime.expiry.sweep()
    kinds = sorted(n.subject["kind"] for n in runtime.notifier.list(NotificationQuery()))
    assert kinds == ["organization", "personal"]


def test_workers_looking_at_once_keep_each_notice_once(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    for _ in range(3):
        add_token(runtime, "alice", expires_at=int(clock()) + DAY)
    workers = [runtime, another_runtime(), another_runtime()]
    assert sum(w.expiry.sweep() for w in workers) == 3
    assert len(runtime.notifier.list(NotificationQuery())) == 3


def test_without_a_webhook_no_notice_is_kept(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    add_token(runtime, "alice", expires_at=int(clock()) + DAY)
    off = another_runtime(notifications={"webhook_url": ""})
    assert off.expiry.sweep() == 0
    assert off.notifier.list(NotificationQuery()) == []
