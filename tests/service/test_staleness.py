"""The staleness policy (`[limits] deactivate_unused_after`) on the injected clock: which tokens
it deactivates (session tokens deleted), its audit events and notifications, a reactivated
token's new period, and that several workers sweeping at once act once; and the report."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.domain.credentials import Credentials
from regauth.domain.hygiene import TOKEN_DEACTIVATED_STALE, CredentialKind, NotificationQuery
from regauth.domain.models import CLI_ACTOR, PULL, AuditQuery, TokenUse
from regauth.domain.tokens import parse_token
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from regauth.services.staleness import DEACTIVATED, SESSION_DELETED
from tests.support.builders import OpenRuntime, add_org, add_token, add_user, reconfigured
from tests.support.clock import FakeClock
from tests.support.hygiene import webhook_settings

DAY = 86400


@pytest.fixture
def config(config: Config, tmp_path: Path) -> Config:
    """90 days, and a webhook (not called here: the notifications are only kept)."""
    return reconfigured(
        config,
        limits={"deactivate_unused_after": "90d"},
        notifications=webhook_settings("http://127.0.0.1:9/hooks", tmp_path / "webhook.key"),
    )


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice", None)
    add_user(runtime, "olivia", None)


def use(runtime: Runtime, token: str, clock: FakeClock) -> None:
    """A use at /token, as the server records it (batched, then written)."""
    parsed = parse_token(token)
    record = TokenUse(int(clock()), "192.0.2.7", "docker/27")
    if parsed.kind.value == "rgo":
        runtime.usage.record_org(parsed.public_id, record)
    else:
        runtime.usage.record(parsed.public_id, record)
    runtime.usage.flush()


def active(runtime: Runtime, token: str) -> bool:
    return runtime.tokens.get(parse_token(token).public_id).active


def org_token(runtime: Runtime) -> str:
    org = add_org(runtime, "acme", "olivia")
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({PULL})},
        public_read=False,
        expires_at=None,
    )
    return str(created.token)


async def test_tokens_unused_for_the_period_are_deactivated_and_told(
    runtime: Runtime, clock: FakeClock
) -> None:
    used = add_token(runtime, "alice", description="used")
    unused = add_token(runtime, "alice", description="unused")
    never = add_token(runtime, "alice", description="never used")
    org = org_token(runtime)
    alice = runtime.users.get("alice")
    session = runtime.tokens.create_session_token(
        alice, client_id="docker", ip=None, user_agent=None
    )
    use(runtime, unused, clock)
    use(runtime, org, clock)
    clock.advance(10 * DAY)
    use(runtime, used, clock)
    clock.advance(81 * DAY)  # unused (and never) 91 days, used 81 days ago

    swept = runtime.staleness.sweep()

    assert {c.id for c in swept.deactivated} == {
        parse_token(t).public_id for t in (unused, never, org)
    }
    assert [c.id for c in swept.deleted] == [session.record.id]
    assert active(runtime, used) and not active(runtime, unused) and not active(runtime, never)
    org_record = runtime.store.get_org_token(parse_token(org).public_id)
    assert org_record is not None and not org_record.active
    assert runtime.store.get_token(session.record.id) is None
    with pytest.raises(Unauthorized, match="personal access token is inactive"):
        await runtime.authenticator.authenticate(Credentials("alice", unused))
    events = runtime.audit.list(AuditQuery(action=DEACTIVATED))
    assert {(e.actor, e.actor_kind) for e in events} == {("staleness-policy", "policy")}
    by_target = {e.target: e.details for e in events}
    assert by_target[parse_token(unused).public_id] == {
        "owner": "alice",
        "kind": "personal",
        "unused_days": 90,
        "last_used_at": "2027-01-15T08:00:00Z",
    }
    assert by_target[parse_token(never).public_id]["last_used_at"] == "never"
    assert by_target[parse_token(org).public_id]["org"] == "acme"
    (deleted,) = runtime.audit.list(AuditQuery(action=SESSION_DELETED))
    assert deleted.target == session.record.id
    # The owner sees it in their own audit trail (GET /v2/account/audit).
    assert DEACTIVATED in {e.action for e in runtime.audit.list(AuditQuery(subject="alice"))}
    kept = runtime.notifier.list(NotificationQuery(event=TOKEN_DEACTIVATED_STALE))
    assert sorted((n.subject["kind"], n.subject["id"]) for n in kept) == sorted(
        [
            ("personal", parse_token(unused).public_id),
            ("personal", parse_token(never).public_id),
            ("organization", parse_token(org).public_id),
            ("session", session.record.id),
        ]
    )

    # Once: a second sweep finds nothing more to do.
    again = runtime.staleness.sweep()
    assert (again.deactivated, again.deleted) == ([], [])


def test_a_reactivated_token_gets_a_whole_period_again(runtime: Runtime, clock: FakeClock) -> None:
    token = add_token(runtime, "alice")
    clock.advance(91 * DAY)
    assert len(runtime.staleness.sweep().deactivated) == 1
    record = runtime.tokens.get(parse_token(token).public_id)
    runtime.tokens.set_active(record, CLI_ACTOR, True)  # its owner wants it back

    clock.advance(89 * DAY)
    assert runtime.staleness.sweep().deactivated == []
    assert active(runtime, token)
    clock.advance(2 * DAY)
    assert len(runtime.staleness.sweep().deactivated) == 1
    assert not active(runtime, token)


def test_inactive_and_expired_tokens_are_left_alone(runtime: Runtime, clock: FakeClock) -> None:
    inactive = add_token(runtime, "alice")
    runtime.tokens.set_active(runtime.tokens.get(parse_token(inactive).public_id), CLI_ACTOR, False)
    add_token(runtime, "alice", expires_at=int(clock()) + 30 * DAY)
    clock.advance(91 * DAY)
    assert runtime.staleness.sweep().deactivated == []
    assert runtime.audit.list(AuditQuery(action=DEACTIVATED)) == []


def test_without_the_policy_nothing_is_swept(
    runtime: Runtime, clock: FakeClock, another_runtime: OpenRuntime
) -> None:
    add_token(runtime, "alice")
    clock.advance(400 * DAY)
    off = another_runtime(limits={"deactivate_unused_after": "never"})
    assert off.staleness.unused_days == 0
    assert off.staleness.sweep().deactivated == []


@pytest.fixture
def workers(another_runtime: OpenRuntime) -> list[Runtime]:
    return [another_runtime() for _ in range(3)]


def test_workers_sweeping_at_once_act_once(
    runtime: Runtime, clock: FakeClock, workers: list[Runtime]
) -> None:
    tokens = [add_token(runtime, "alice") for _ in range(5)]
    clock.advance(91 * DAY)
    barrier = threading.Barrier(len(workers))
    done: list[int] = []

    def sweep(worker: Runtime) -> None:
        barrier.wait()
        done.append(len(worker.staleness.sweep().deactivated))

    threads = [threading.Thread(target=sweep, args=(w,)) for w in workers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert sum(done) == len(tokens)
    assert len(runtime.audit.list(AuditQuery(action=DEACTIVATED))) == len(tokens)
    assert len(runtime.notifier.list(NotificationQuery())) == len(tokens)


def run_due_at_once(workers: list[Runtime]) -> list[list[str]]:
    """Every worker's housekeeping round, started together: the jobs each one ran."""
    barrier = threading.Barrier(len(workers))
    ran: dict[int, list[str]] = {}

    def run(n: int, worker: Runtime) -> None:
        barrier.wait()
        ran[n] = sorted(worker.housekeeping.run_due())

    threads = [threading.Thread(target=run, args=(n, w)) for n, w in enumerate(workers)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return [ran[n] for n in range(len(workers))]


def test_the_deployments_jobs_run_once_per_period_whichever_worker_asks(
    runtime: Runtime, clock: FakeClock, workers: list[Runtime]
) -> None:
    add_token(runtime, "alice")
    clock.advance(91 * DAY)

    ran = run_due_at_once(workers)

    everything = ["expiry_notices", "notifications_purge", "staleness"]
    assert sorted(job for jobs in ran for job in jobs) == everything  # each once, by someone
    assert len(runtime.audit.list(AuditQuery(action=DEACTIVATED))) == 1
    clock.advance(3599)
    assert run_due_at_once(workers) == [[], [], []]
    clock.advance(1)
    ran = run_due_at_once(workers)
    assert sorted(job for jobs in ran for job in jobs) == ["expiry_notices", "staleness"]


def test_the_report_lists_every_kind_unused_that_long(runtime: Runtime, clock: FakeClock) -> None:
    old = add_token(runtime, "alice", description="old")
    clock.advance(3600)
    org = org_token(runtime)
    use(runtime, org, clock)
    clock.advance(30 * DAY - 3600)
    recent = add_token(runtime, "alice", description="recent")
    runtime.tokens.set_active(runtime.tokens.get(parse_token(old).public_id), CLI_ACTOR, False)
    clock.advance(31 * DAY)

    found = runtime.staleness.report(unused_seconds=60 * DAY)

    assert [(c.kind, c.id, c.active) for c in found] == [
        (CredentialKind.PERSONAL, parse_token(old).public_id, False),
        (CredentialKind.ORGANIZATION, parse_token(org).public_id, True),
    ]
    assert found[1].last_used_at == int(clock()) - 61 * DAY + 3600
    assert parse_token(recent).public_id not in {
        c.id for c in runtime.staleness.report(unused_seconds=60 * DAY)
    }
    assert len(runtime.staleness.report(unused_seconds=30 * DAY)) == 3
    assert (
        runtime.staleness.report(unused_seconds=30 * DAY, limit=1)[0].id
        == parse_token(old).public_id
    )
