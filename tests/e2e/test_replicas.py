"""Two regauth replicas of ONE deployment: separate `regauth serve` processes, each with a data
folder of its own, on one PostgreSQL database and one [keys] dir, behind a real HAProxy whose
address is the token realm of a real registry (tests/e2e/harness/replicas.py).

What a replica changes, the other one knows: a PAT made through one works through the other at
once, and one deactivated through one is refused by the other within the 1 s trust bound
(LISTEN/NOTIFY). A replica killed under load loses no client request; a PostgreSQL restart is
survived without restarting regauth (503 with Retry-After while it is down, never a 500); and a
replica with another HMAC secret refuses to start.

The figures (revocation latency, requests during the kill, the outage) are printed as
`[replicas] ...` lines.
"""

from __future__ import annotations

import base64
import itertools
import json
import shutil
import statistics
import time
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from tests.e2e.harness.account_api import Session
from tests.e2e.harness.balancer import haproxy_binary
from tests.e2e.harness.containers import Skopeo
from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import CommandResult, http_get, http_status
from tests.e2e.harness.regauth import (
    ACCESS_LOG_DELAY,
    Access,
    Account,
    PasswordUser,
    RegauthServer,
)
from tests.e2e.harness.replicas import (
    ClientLoop,
    Deployment,
    ProbeAnswer,
    TokenProbe,
    basic,
    event_names,
    logged_events,
    serve_until_exit,
    shared_storage,
    token_answer,
    token_answer_when,
    token_path,
)
from tests.e2e.harness.request_loop import RequestLoop
from tests.support.ci import missing
from tests.support.images import BuiltImage
from tests.support.postgres import PostgresServer

pytestmark = pytest.mark.e2e

# The 20-odd PATs of the revocation trials come from one account.
LIMITS = {
    "failures_per_ip": 10_000,
    "token_creations_per_hour": 1_000,
    "max_active_tokens": 1_000,
}
TRUST_BOUND_SECONDS = 1.0  # store/postgres/backend.py TRUST_SECONDS
REVOCATION_TRIALS = 20
POLL_SECONDS = 0.01
# What "by itself within a few seconds" means after PostgreSQL is back.
RECOVERY_SECONDS = 5.0


@pytest.fixture(scope="module", autouse=True)
def _haproxy() -> None:
    if haproxy_binary() is None:
        missing("no load balancer: haproxy is not installed (apt-get install haproxy)")


@pytest.fixture(scope="module")
def deployment(
    postgres_server: PostgresServer, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Deployment]:
    root = tmp_path_factory.mktemp("replicas")
    postgres_server.start()  # a test of another module may have left it down
    database = postgres_server.create_database()
    deployment = Deployment(root, shared_storage(root, database.url), limits=LIMITS)
    try:
        deployment.start()
        yield deployment
    finally:
        deployment.stop()
        postgres_server.start()
        postgres_server.drop_database(database.name)


@pytest.fixture(autouse=True)
def _healthy(deployment: Deployment, postgres_server: PostgresServer) -> None:
    """Each test starts with the database up and both replicas in the balancer."""
    postgres_server.start()
    deployment.balancer.wait_for_states({"replica0": "UP", "replica1": "UP"}, timeout=30)


@pytest.fixture(scope="module")
def owner(deployment: Deployment) -> PasswordUser:
    return deployment.replicas[0].cli.new_password_user("owner")


@pytest.fixture(scope="module")
def session_on_a(deployment: Deployment, owner: PasswordUser) -> Session:
    """The owner signed in to replica A's account API (a web UI or script would be)."""
    return deployment.replicas[0].api.sign_in(owner.name, owner.password)


def note(capsys: pytest.CaptureFixture[str], text: str) -> None:
    """A measured figure, on the terminal whatever pytest captures."""
    with capsys.disabled():
        print(f"\n[replicas] {text}")


def new_account(replica: RegauthServer, access: Access) -> Account:
    """A user and PAT made with the replica's CLI; the CLI of each replica numbers its users
    from 1, so each replica's users get a prefix of their own (one database for all)."""
    return replica.cli.new_account(access, prefix=f"{replica.flavour.name[-1]}user")


def process_prefix(server: RegauthServer) -> str:
    """The request-id prefix the replica's one process draws at start."""
    return http_get(f"{server.url}/healthz").headers["x-request-id"][:8]


def chosen(deployment: Deployment) -> dict[str, int]:
    """How many requests HAProxy has dealt to each replica so far."""
    stats = deployment.balancer.server_stats()
    return {name: int(stats[name]["lbtot"]) for name in deployment.balancer.backends}


def claims(token: str) -> dict[str, Any]:
    segment = token.split(".")[1]
    return dict(json.loads(base64.urlsafe_b64decode(segment + "=" * (-len(segment) % 4))))


def pat_of(session: Session, owner: PasswordUser, label: str) -> tuple[str, Account]:
    """A new repo:read PAT through the account API: (its uuid, the account that holds it)."""
    created = session.create_token(label, "repo:read")
    return str(created["uuid"]), Account(owner.name, str(created["token"]), "read")


# --- real clients through the balancer ---------------------------------------------------------


def test_docker_logs_in_pushes_and_pulls_through_the_balancer(
    deployment: Deployment, docker: DockerClient, test_image: BuiltImage
) -> None:
    registry = deployment.running_registry
    account = new_account(deployment.replicas[0], "delete")
    reference = registry.reference(account.repository("docker"))
    before = chosen(deployment)

    login = docker.login(registry.host, account.name, account.pat)
    assert login.ok, login
    assert "Login Succeeded" in login.stdout
    docker.load_as(test_image.docker_archive, test_image.image_id, reference)
    # dockerd's login got a refresh token from one replica; push and pull spend it (POST
    # /token) on whichever replica the balancer picks.
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    removed = docker.run("rmi", "--force", test_image.image_id)
    assert removed.ok, removed
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled
    assert f"Downloaded newer image for {reference}" in pulled.stdout
    image_id = docker.run("image", "inspect", "--format", "{{.Id}}", reference)
    assert image_id.stdout.strip() == test_image.image_id

    after = chosen(deployment)
    assert all(after[name] > before[name] for name in after), (before, after)


def test_skopeo_copies_and_inspects_through_the_balancer(
    deployment: Deployment, skopeo: Skopeo, test_image: BuiltImage, tmp_path: Path
) -> None:
    registry = deployment.running_registry
    account = new_account(deployment.replicas[1], "write")  # made on B this time
    reference = f"docker://{registry.reference(account.repository('skopeo'))}"
    before = chosen(deployment)

    login = skopeo.login(registry.host, account.name, account.pat)
    assert login.ok, login
    pushed = skopeo.copy(test_image.oci_reference, reference)
    assert pushed.ok, pushed
    inspected = skopeo.inspect(reference)
    assert inspected.ok, inspected
    assert json.loads(inspected.stdout)["Digest"] == test_image.oci_manifest_digest
    pulled = skopeo.copy(reference, f"oci:{tmp_path / 'pulled'}:v1")
    assert pulled.ok, pulled

    after = chosen(deployment)
    assert all(after[name] > before[name] for name in after), (before, after)


# --- what one replica changes, the other knows -------------------------------------------------


def test_a_pat_created_through_a_works_through_b_at_once(
    deployment: Deployment, session_on_a: Session, owner: PasswordUser
) -> None:
    a, b = deployment.replicas
    from_cli = new_account(a, "read")  # the CLI on A's config
    _, from_api = pat_of(session_on_a, owner, "made on A")  # A's account API

    for account in (from_cli, from_api):
        # The very next request, straight to B: nothing to wait for, B reads the database.
        answer = token_answer(b.port, account)
        assert answer.status == 200, answer
        access = claims(answer.json()["token"])["access"]
        assert access == [
            {"type": "repository", "name": account.repository(), "actions": ["pull"]}
        ], access


def test_a_pat_deactivated_through_a_is_refused_by_b_within_the_trust_bound(
    deployment: Deployment,
    session_on_a: Session,
    owner: PasswordUser,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """B has the PAT in its cache (it answered it twice); A's deactivation reaches B by
    NOTIFY. The time is from sending the PATCH to A until B's first 401 (and from A's 200),
    B polled every 10 ms on a kept-alive connection from A's 200 on."""
    a, b = deployment.replicas
    latencies: list[float] = []
    after_ack: list[float] = []
    polls: list[int] = []
    for trial in range(REVOCATION_TRIALS):
        uuid, account = pat_of(session_on_a, owner, f"trial {trial}")
        with TokenProbe(b.port, account) as probe:
            assert [probe.get().status for _ in range(2)] == [200, 200]

            sent = time.monotonic()
            session_on_a.set_active(uuid, False)
            acknowledged = time.monotonic()
            seen = [probe.get()]
            while seen[-1].status == 200 and seen[-1].at - sent < 5 * TRUST_BOUND_SECONDS:
                time.sleep(POLL_SECONDS)
                seen.append(probe.get())
            refused = seen[-1]
            assert refused.status == 401, seen
            latencies.append(refused.at - sent)
            after_ack.append(refused.at - acknowledged)
            polls.append(len(seen))
            assert "personal access token is inactive" in refused.body, refused
            # Refused for good, not once: no stale cache entry answers later.
            assert [probe.get().status for _ in range(3)] == [401, 401, 401]

    # The CLI on A's config (its own process, no listener of its own) does the same.
    cli_account = new_account(a, "read")
    with TokenProbe(b.port, cli_account) as probe:
        assert [probe.get().status for _ in range(2)] == [200, 200]
        a.cli.check("token", "deactivate", cli_account.pat)
        deactivated = time.monotonic()
        cli_latency = probe.until(401, timeout=5 * TRUST_BOUND_SECONDS).at - deactivated
        # ... and activated: accepted again through B at once (refusals are never cached).
        a.cli.check("token", "activate", cli_account.pat)
        assert probe.get().status == 200

    note(
        capsys,
        f"revocation A->B over {len(latencies)} trials (PATCH sent -> B's first 401): "
        f"p50 {statistics.median(latencies) * 1000:.1f} ms, "
        f"max {max(latencies) * 1000:.1f} ms; from A's 200: "
        f"p50 {statistics.median(after_ack) * 1000:.1f} ms, "
        f"max {max(after_ack) * 1000:.1f} ms; B refused at its first poll after A's 200 "
        f"in {polls.count(1)} of {len(polls)} (most polls: {max(polls)}); "
        f"CLI `token deactivate` on A -> B's 401 "
        f"{cli_latency * 1000:.1f} ms after the command exited",
    )
    assert max(latencies) < TRUST_BOUND_SECONDS, latencies
    assert cli_latency < TRUST_BOUND_SECONDS


# --- a replica killed under load ----------------------------------------------------------------


def test_kill_9_of_a_replica_during_pulls_loses_no_client_operation(
    deployment: Deployment,
    skopeo: Skopeo,
    test_image: BuiltImage,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    doomed, survivor = deployment.replicas
    registry = deployment.running_registry
    account = new_account(survivor, "write")
    reference = f"docker://{registry.reference(account.repository('pulled'))}"
    assert skopeo.login(registry.host, account.name, account.pat).ok
    assert skopeo.copy(test_image.oci_reference, reference).ok
    survivor_prefix = process_prefix(survivor)
    sums_before = deployment.balancer.server_stats()["BACKEND"]
    pulls = itertools.count(1)

    def pull() -> CommandResult:
        return skopeo.copy(reference, f"oci:{tmp_path / f'pull-{next(pulls)}'}:v1")

    try:
        with (
            RequestLoop(
                deployment.balancer.port,
                token_path(account),
                clients=4,
                headers={"Authorization": basic(account)},
            ) as loop,
            ClientLoop(pull) as pulling,
        ):
            loop.wait_for(100)
            pulling.wait_for(2)
            killed_at = time.monotonic()
            doomed.kill()
            taken_out_after = deployment.balancer.wait_for_states(
                {"replica0": "DOWN", "replica1": "UP"}
            )
            loop.wait_for(200)
            pulling.wait_for(3)
    finally:
        doomed.start()  # the same port, a new process; the balancer takes it back
    deployment.balancer.wait_for_states({"replica0": "UP"})

    outcomes, runs = loop.outcomes, pulling.runs
    failed_gets = [o for o in outcomes if o.status != 200]
    failed_pulls = [r.result for r in runs if not r.result.ok]
    sums = deployment.balancer.server_stats()["BACKEND"]
    resent = sum(int(sums[k]) - int(sums_before[k]) for k in ("wretr", "wredis"))
    note(
        capsys,
        f"kill -9 of replica A: {len(failed_gets)} of {len(outcomes)} token GETs and "
        f"{len(failed_pulls)} of {len(runs)} skopeo pulls failed "
        f"({sum(r.started > killed_at for r in runs)} pulls started after the kill); "
        f"HAProxy re-sent {resent} request(s), took A out after {taken_out_after:.2f} s",
    )
    assert failed_gets == []
    assert failed_pulls == []
    assert {o.served_by for o in outcomes if o.started > killed_at} == {survivor_prefix}
    assert any(r.started > killed_at for r in runs)


# --- PostgreSQL restarted under the replicas ----------------------------------------------------


def _concurrently(*probes: Callable[[], ProbeAnswer]) -> list[tuple[ProbeAnswer, float]]:
    """Each probe's answer and how long it took, all sent at once."""

    def timed(probe: Callable[[], ProbeAnswer]) -> tuple[ProbeAnswer, float]:
        started = time.monotonic()
        answer = probe()
        return answer, answer.at - started

    with ThreadPoolExecutor(len(probes)) as pool:
        return list(pool.map(timed, probes))


def _in_background(work: Callable[[], float]) -> Future[float]:
    pool = ThreadPoolExecutor(1)
    future = pool.submit(work)
    pool.shutdown(wait=False)
    return future


def test_a_postgres_restart_is_survived_without_restarting_regauth(
    deployment: Deployment,
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    """While PostgreSQL is down a PAT is answered 503 with Retry-After, never 500: a PAT on a
    cold cache (never used) and one B answered a moment before alike, since the replica stops
    trusting its caches once its listener's connection is gone. Once PostgreSQL is back the
    same requests succeed by themselves, and B hears A's changes again."""
    a, b = deployment.replicas
    cached = new_account(a, "read")
    cold_a = Account(cached.name, a.cli.create_pat(cached.name, "read"), "read")
    cold_b = Account(cached.name, a.cli.create_pat(cached.name, "read"), "read")
    with TokenProbe(b.port, cached) as probe_cached:
        assert [probe_cached.get().status for _ in range(2)] == [200, 200]
        events_before = len(event_names(b))

        with postgres_server.down():
            # Both replicas fail their health checks, so the balancer answers by itself.
            taken_out = _in_background(
                lambda: deployment.balancer.wait_for_states(
                    {"replica0": "DOWN", "replica1": "DOWN"}
                )
            )
            # One store thread each (of 4): HAProxy's health checks take others.
            answers = _concurrently(
                lambda: token_answer(a.port, cold_a),
                lambda: token_answer(b.port, cold_b),
                probe_cached.get,
            )
            out_after = taken_out.result(timeout=30)
            through_balancer = token_answer(deployment.balancer.port, cold_a)
        back = time.monotonic()
        taken_back = _in_background(
            lambda: deployment.balancer.wait_for_states(
                {"replica0": "UP", "replica1": "UP"}, timeout=30
            )
        )

        for answer, _ in answers:
            assert answer.status == 503, answer
            assert answer.headers.get("retry-after") == "1", answer
            assert answer.json()["errors"][0]["code"] == "UNAVAILABLE", answer
        assert through_balancer.status == 503, through_balancer

        recovered = _concurrently(
            lambda: token_answer_when(a.port, cold_a, 200, timeout=30, every=0.05),
            lambda: token_answer_when(b.port, cold_b, 200, timeout=30, every=0.05),
            lambda: probe_cached.until(200, timeout=30, every=0.05),
        )
        recovery = max(answer.at for answer, _ in recovered) - back
        # B's listener is back too: A's next change reaches B's cache within the trust bound.
        probe_cached.until(200, timeout=5)
        a.cli.check("token", "deactivate", cached.pat)
        deactivated = time.monotonic()
        revoked_after = probe_cached.until(401, timeout=5).at - deactivated
    in_balancer_after = taken_back.result(timeout=35)
    events = event_names(b)[events_before:]

    waits = ", ".join(f"{took:.2f} s" for _, took in answers)
    note(
        capsys,
        f"PostgreSQL down: cold PAT on A, cold PAT on B, cached PAT on B -> "
        f"{[a.status for a, _ in answers]} after {waits} (the pool's 5 s timeout); "
        f"the balancer took both replicas out after {out_after:.2f} s and answered "
        f"{through_balancer.status}; back: every PAT 200 again {recovery:.2f} s after "
        f"PostgreSQL was, both replicas back in the balancer after {in_balancer_after:.2f} s; "
        f"a deactivation on A refused by B {revoked_after * 1000:.0f} ms after",
    )
    assert recovery < RECOVERY_SECONDS
    assert revoked_after < TRUST_BOUND_SECONDS
    assert "change_listener_lost" in events
    assert "change_listener_connected" in events
    assert "unhandled_error" not in events


# --- one deployment, one HMAC secret ------------------------------------------------------------


def test_a_replica_with_a_copy_of_the_keys_dir_joins(
    deployment: Deployment, tmp_path: Path
) -> None:
    """The control for the refusal below: the same secret, copied to another folder."""
    keys = tmp_path / "copied-keys"
    shutil.copytree(deployment.storage.keys_dir, keys)
    account = new_account(deployment.replicas[0], "read")
    third = deployment.replica("replica-c", keys_dir=keys)
    try:
        third.start()
        assert token_answer(third.port, account).status == 200
    finally:
        third.stop()


def test_a_replica_with_another_keys_dir_refuses_to_start(
    deployment: Deployment, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    stranger = deployment.replica("replica-x", keys_dir=tmp_path / "other-keys")

    result = serve_until_exit(stranger)

    note(capsys, f"another [keys] dir: exit {result.returncode}, stderr {result.stderr.strip()!r}")

    assert result.returncode != 0, result
    assert "token-hmac.key" in result.stderr, result
    assert "not the one this database was initialised with" in result.stderr, result
    # It never served: its port is free.
    assert http_status(f"{stranger.url}/healthz") is None


# --- found here: while PostgreSQL was down, a 503 waited for a store thread (fixed: a replica
# whose listener cannot reach the database answers 503 at once) ---------------------------------

POOL_TIMEOUT_SECONDS = 2.0  # store/postgres/backend.py: ConnectionPool(timeout=2.0)
STORE_THREADS = 4  # [storage] pool_size: the store's threads, one connection each
CLIENTS = STORE_THREADS + 1  # clients pulling at once: one more than the threads


def test_a_503_does_not_wait_for_a_store_thread_while_postgres_is_down(
    deployment: Deployment,
    postgres_server: PostgresServer,
    capsys: pytest.CaptureFixture[str],
) -> None:
    a, b = deployment.replicas
    account = new_account(a, "read")
    with postgres_server.down():
        answers = _concurrently(*[lambda: token_answer(b.port, account)] * CLIENTS)
    waits = sorted(took for _, took in answers)
    note(
        capsys,
        f"PostgreSQL down, {CLIENTS} clients at once on B: statuses "
        f"{sorted({answer.status for answer, _ in answers})}, 503 after "
        f"{waits[0]:.1f} s (first) to {waits[-1]:.1f} s (last)",
    )
    assert all(answer.status == 503 for answer, _ in answers), answers
    assert waits[-1] < POOL_TIMEOUT_SECONDS + 1.0


# --- last: what the replicas logged over the whole module ---------------------------------------


def test_no_replica_answered_a_500_or_logged_an_unhandled_error(deployment: Deployment) -> None:
    """Through kills, an outage and refusals: 503 where the database could not answer, never
    the 500 of a bug. (Last in the module: it reads every replica's whole log.)"""
    time.sleep(ACCESS_LOG_DELAY)  # the access lines of the last requests
    for replica in deployment.replicas:
        events = logged_events(replica)
        served = [e for e in events if e.get("event") == "request"]
        assert served, replica.flavour.name
        failures = [e for e in served if e["status"] >= 500 and e["status"] != 503]
        assert failures == [], (replica.flavour.name, failures[:5])
        assert not [e for e in events if e.get("event") == "unhandled_error"]
        assert (
            deployment.storage.password_file.read_text().strip() not in replica.log_path.read_text()
        )
