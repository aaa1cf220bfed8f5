"""Webhook deliveries to a real receiver (an aiohttp server on loopback): signed bodies, never a
secret in them, retries with backoff on the injected clock, giving up and retrying by hand, and
each notification delivered once by however many workers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from pytest_aiohttp import AiohttpServer

from regauth.domain.hygiene import CREDENTIAL_LEAKED_REVOKED, NotificationQuery, NotificationState
from regauth.domain.models import CLI_ACTOR, Actor, AuditQuery
from regauth.domain.tokens import parse_token
from regauth.http.webhooks import AiohttpSender, client_session
from regauth.runtime import Runtime
from tests.e2e.harness.processes import free_port
from tests.support.builders import OpenRuntime, add_token, add_user
from tests.support.clock import FakeClock
from tests.support.hygiene import configure, webhook_settings
from tests.support.webhook_receiver import Receiver

REPORTER = Actor(name="anonymous", kind="anonymous", ip="203.0.113.4", user_agent="scanner/2")


KEY = b"a shared key between regauth and the receiver"


def write_key(path: Path, key: bytes | None) -> None:
    """The key file as an operator writes it (a newline at the end), or gone."""
    if key is None:
        path.unlink()
    else:
        path.write_bytes(key + b"\n")


@pytest.fixture
def key_file(tmp_path: Path) -> Path:
    path = tmp_path / "webhook.key"
    write_key(path, KEY)
    return path


@pytest.fixture
async def receiver(aiohttp_server: AiohttpServer, clock: FakeClock, key_file: Path) -> Receiver:
    found = Receiver(key=KEY, clock=clock)
    found.server = await aiohttp_server(found.app())
    return found


@pytest.fixture
def hooked(runtime: Runtime, receiver: Receiver, key_file: Path) -> Runtime:
    configure(runtime, notifications=webhook_settings(receiver.url, key_file))
    add_user(runtime, "alice", None)
    return runtime


@pytest.fixture
async def sender() -> AsyncIterator[AiohttpSender]:
    async with client_session() as session:
        yield AiohttpSender(session)


def leak(runtime: Runtime) -> str:
    """A token of alice's reported leaked (one credential.leaked_revoked kept): its secret."""
    token = add_token(runtime, "alice")
    assert runtime.revocation.revoke([token], REPORTER) == 1
    return token


def only(runtime: Runtime) -> Any:
    (notification,) = runtime.notifier.list(NotificationQuery())
    return notification


async def test_a_leaked_token_reaches_the_receiver_signed_and_without_its_secret(
    hooked: Runtime, receiver: Receiver, sender: AiohttpSender, clock: FakeClock
) -> None:
    token = leak(hooked)
    parsed = parse_token(token)
    secret_hash = hooked.tokens.get(parsed.public_id).secret_hash

    assert await hooked.webhooks.deliver_due(sender) == 1

    (delivery,) = receiver.deliveries
    assert delivery.signature_ok
    assert delivery.headers["X-Regauth-Event"] == CREDENTIAL_LEAKED_REVOKED
    assert delivery.headers["X-Regauth-Timestamp"] == str(int(clock()))
    assert delivery.headers["Content-Type"] == "application/json"
    payload = delivery.payload
    assert payload["id"] == delivery.id == only(hooked).id
    assert payload["event"] == CREDENTIAL_LEAKED_REVOKED
    assert payload["version"] == 1
    subject = payload["token"]
    assert (subject["kind"], subject["id"], subject["owner"]) == (
        "personal",
        parsed.public_id,
        "alice",
    )
    assert subject["active"] is False
    for secret in (token, parsed.secret, secret_hash.hex()):
        assert secret.encode() not in delivery.body
    delivered = only(hooked)
    assert (delivered.state, delivered.attempts, delivered.last_status) == (
        NotificationState.DELIVERED,
        1,
        200,
    )
    # Delivered is done: nothing is sent again.
    clock.advance(7200)
    assert await hooked.webhooks.deliver_due(sender) == 0
    assert len(receiver.deliveries) == 1


async def test_a_failed_delivery_is_retried_with_a_doubling_wait(
    hooked: Runtime, receiver: Receiver, sender: AiohttpSender, clock: FakeClock
) -> None:
    receiver.statuses = [500, 503]
    leak(hooked)
    start = int(clock())

    assert await hooked.webhooks.deliver_due(sender) == 0
    pending = only(hooked)
    assert (pending.state, pending.attempts, pending.last_status, pending.last_error) == (
        NotificationState.PENDING,
        1,
        500,
        "HTTP 500",
    )
    assert pending.next_attempt_at == start + 30
    clock.advance(29)
    assert await hooked.webhooks.deliver_due(sender) == 0
    assert len(receiver.deliveries) == 1  # not due yet

    clock.advance(1)
    assert await hooked.webhooks.deliver_due(sender) == 0
    assert (only(hooked).last_error, only(hooked).next_attempt_at) == ("HTTP 503", start + 30 + 60)
    clock.advance(60)
    assert await hooked.webhooks.deliver_due(sender) == 1

    assert [d.headers["X-Regauth-Timestamp"] for d in receiver.deliveries] == [
        str(start),
        str(start + 30),
        str(start + 90),
    ]
    # The same delivery each time, each attempt signed afresh with its own timestamp.
    assert len({d.id for d in receiver.deliveries}) == 1
    assert all(d.signature_ok for d in receiver.deliveries)
    assert len({d.body for d in receiver.deliveries}) == 1
    done = only(hooked)
    assert (done.state, done.attempts, done.last_status, done.last_error) == (
        NotificationState.DELIVERED,
        3,
        200,
        None,
    )


async def test_a_delivery_is_given_up_after_max_attempts_and_an_admin_can_retry_it(
    hooked: Runtime, receiver: Receiver, sender: AiohttpSender, clock: FakeClock, key_file: Path
) -> None:
    configure(hooked, notifications=webhook_settings(receiver.url, key_file, max_attempts=2))
    receiver.statuses = [500, 500]
    leak(hooked)
    await hooked.webhooks.deliver_due(sender)
    clock.advance(30)
    await hooked.webhooks.deliver_due(sender)

    failed = only(hooked)
    assert (failed.state, failed.attempts, failed.failed_at) == (
        NotificationState.FAILED,
        2,
        int(clock()),
    )
    clock.advance(86400)
    assert await hooked.webhooks.deliver_due(sender) == 0
    assert len(receiver.deliveries) == 2

    retried = hooked.notifier.retry(failed.id, CLI_ACTOR)
    assert (retried.state, retried.attempts) == (NotificationState.PENDING, 0)
    assert await hooked.webhooks.deliver_due(sender) == 1
    assert only(hooked).state is NotificationState.DELIVERED
    (event,) = hooked.audit.list(AuditQuery(action="notification.retry"))
    assert (event.actor, event.target) == ("cli", failed.id)


async def test_a_receiver_too_slow_or_not_there_is_a_failure_with_a_plain_cause(
    hooked: Runtime, receiver: Receiver, sender: AiohttpSender, clock: FakeClock, key_file: Path
) -> None:
    slow = webhook_settings(receiver.url, key_file, timeout_seconds=0.2)
    configure(hooked, notifications=slow)
    receiver.delay = 2.0
    leak(hooked)
    await hooked.webhooks.deliver_due(sender)
    assert (only(hooked).last_status, only(hooked).last_error) == (None, "timeout")

    gone = f"http://127.0.0.1:{free_port()}/hooks"
    configure(hooked, notifications=webhook_settings(gone, key_file))
    clock.advance(30)
    await hooked.webhooks.deliver_due(sender)
    assert (only(hooked).attempts, only(hooked).last_error) == (2, "cannot connect")


async def test_the_key_is_read_at_every_round_and_without_it_nothing_is_sent(
    hooked: Runtime, receiver: Receiver, sender: AiohttpSender, key_file: Path
) -> None:
    leak(hooked)
    write_key(key_file, None)
    assert await hooked.webhooks.deliver_due(sender) == 0
    # Nothing claimed: no attempt was spent on a delivery that could not be signed.
    assert (len(receiver.deliveries), only(hooked).attempts) == (0, 0)

    write_key(key_file, b"a new key")
    receiver.key = b"a new key"
    assert await hooked.webhooks.deliver_due(sender) == 1
    assert receiver.deliveries[0].signature_ok


async def test_two_workers_deliver_each_notification_once(
    hooked: Runtime,
    receiver: Receiver,
    sender: AiohttpSender,
    another_runtime: OpenRuntime,
    key_file: Path,
) -> None:
    other = another_runtime(notifications=webhook_settings(receiver.url, key_file))
    for _ in range(6):
        leak(hooked)
    receiver.delay = 0.05  # the two rounds overlap

    sent = await asyncio.gather(
        hooked.webhooks.deliver_due(sender, limit=4), other.webhooks.deliver_due(sender, limit=4)
    )
    sent += await asyncio.gather(
        hooked.webhooks.deliver_due(sender, limit=4), other.webhooks.deliver_due(sender, limit=4)
    )

    assert sum(sent) == 6
    ids = [d.id for d in receiver.deliveries]
    assert len(ids) == len(set(ids)) == 6
    states = {n.state for n in hooked.notifier.list(NotificationQuery())}
    assert states == {NotificationState.DELIVERED}


async def test_without_a_webhook_nothing_is_kept_or_sent(
    runtime: Runtime, receiver: Receiver, sender: AiohttpSender
) -> None:
    add_user(runtime, "alice", None)
    leak(runtime)
    assert runtime.notifier.list(NotificationQuery()) == []
    assert await runtime.webhooks.deliver_due(sender) == 0
    assert receiver.deliveries == []
