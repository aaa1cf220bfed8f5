"""The load balancer the replica tests stand on (tests/e2e/harness/balancer.py): HAProxy deals
requests to every replica, takes a dead one out on its health checks, and sends a request a
killed replica never answered to the other one, so that a client loses none."""

from __future__ import annotations

import base64
import http.client
import http.server
import json
import threading
import time
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from tests.e2e.harness.balancer import Balancer, haproxy_binary
from tests.e2e.harness.processes import http_get
from tests.e2e.harness.regauth import SERVICE, Flavour, RegauthServer
from tests.e2e.harness.request_loop import Outcome, RequestLoop
from tests.support.ci import missing

pytestmark = pytest.mark.e2e

# Anonymous and without a scope (as for `docker login`'s first probe): a token with no access,
# from whichever replica answers (each has its own data for now).
TOKEN_PATH = f"/token?service={SERVICE}"
REPLICA = Flavour("replica")


@pytest.fixture(autouse=True)
def _haproxy() -> None:
    if haproxy_binary() is None:
        missing("no load balancer: haproxy is not installed (apt-get install haproxy)")


@pytest.fixture
def replicas(tmp_path: Path) -> Iterator[list[RegauthServer]]:
    """Two `regauth serve` processes, one worker each, each on its own SQLite file for now,
    believing the balancer's X-Forwarded-For."""
    servers = [
        RegauthServer(tmp_path / f"replica{i}", REPLICA, trusted_proxies=["127.0.0.1"])
        for i in range(2)
    ]
    try:
        with ThreadPoolExecutor() as pool:
            list(pool.map(RegauthServer.start, servers))
        yield servers
    finally:
        for server in servers:
            server.stop()


def running(balancer: Balancer) -> Iterator[Balancer]:
    try:
        balancer.start()
        yield balancer
    finally:
        balancer.stop()


@pytest.fixture
def balancer(replicas: list[RegauthServer]) -> Iterator[Balancer]:
    yield from running(Balancer([address(r) for r in replicas]))


def address(server: RegauthServer) -> str:
    return f"127.0.0.1:{server.port}"


def process_prefix(server: RegauthServer) -> str:
    """The request-id prefix the replica's one process draws at start."""
    return http_get(f"{server.url}/healthz").headers["x-request-id"][:8]


def failed(outcomes: list[Outcome]) -> list[Outcome]:
    return [o for o in outcomes if o.status != 200]


def test_requests_are_dealt_to_both_replicas(
    replicas: list[RegauthServer], balancer: Balancer
) -> None:
    with RequestLoop(balancer.port, TOKEN_PATH, clients=2) as loop:
        loop.wait_for(40)
    outcomes = loop.outcomes
    assert failed(outcomes) == []
    served = Counter(o.served_by for o in outcomes)
    assert set(served) == {process_prefix(r) for r in replicas}
    assert min(served.values()) >= len(outcomes) // 3  # round-robin: about half each


def test_kill_9_of_a_replica_during_a_request_loop_loses_no_request(
    replicas: list[RegauthServer], balancer: Balancer
) -> None:
    doomed, survivor = replicas
    survivor_prefix = process_prefix(survivor)
    with RequestLoop(balancer.port, TOKEN_PATH, clients=4) as loop:
        loop.wait_for(100)
        killed_at = time.monotonic()
        doomed.kill()
        taken_out_after = balancer.wait_for_states({"replica0": "DOWN", "replica1": "UP"})
        loop.wait_for(200)
    outcomes = loop.outcomes
    assert failed(outcomes) == []
    assert {o.served_by for o in outcomes if o.started > killed_at} == {survivor_prefix}
    # The kill did hit requests: they were sent again (retries, redispatches to the survivor).
    sums = balancer.server_stats()["BACKEND"]
    assert int(sums["wretr"]) + int(sums["wredis"]) > 0, sums
    # Two failed checks 250 ms apart.
    assert taken_out_after < 2.0


def test_without_the_retry_settings_a_kill_9_loses_requests(
    replicas: list[RegauthServer],
) -> None:
    """The control for the test above: HAProxy's defaults retry a refused connection on the
    same server only, so the requests dealt to the dead replica before its checks fail are
    lost. Without this, a passing kill test could mean the kill never met a request."""
    for plain in running(Balancer([address(r) for r in replicas], retry=False)):
        with RequestLoop(plain.port, TOKEN_PATH, clients=4) as loop:
            loop.wait_for(100)
            replicas[0].kill()
            plain.wait_for_states({"replica0": "DOWN"})
            loop.wait_for(100)
    # 503 (no server left to retry on) or a connection closed without an answer.
    assert failed(loop.outcomes)


def test_a_replica_that_comes_back_is_taken_back_after_its_health_checks(
    replicas: list[RegauthServer], balancer: Balancer
) -> None:
    replicas[0].kill()
    balancer.wait_for_states({"replica0": "DOWN"})
    replicas[0].start()  # the same port, a new process with a new request-id prefix
    balancer.wait_for_states({"replica0": "UP"})
    with RequestLoop(balancer.port, TOKEN_PATH, clients=2) as loop:
        loop.wait_for(20)
    assert failed(loop.outcomes) == []
    assert {o.served_by for o in loop.outcomes} == {process_prefix(r) for r in replicas}


def test_regauth_sees_the_client_address_and_not_what_the_client_wrote(
    replicas: list[RegauthServer], balancer: Balancer
) -> None:
    account = replicas[0].cli.new_account("read")
    answers = []
    # From 127.0.0.2, so that the client's address differs from the balancer's (127.0.0.1).
    conn = http.client.HTTPConnection("127.0.0.1", balancer.port, source_address=("127.0.0.2", 0))
    headers = {
        "Authorization": "Basic " + _basic(account.name, account.pat),
        "X-Forwarded-For": "198.51.100.7",  # a client pretending to be someone else
    }
    for _ in range(2):  # round-robin: one of two reaches the replica that knows the token
        conn.request("GET", TOKEN_PATH, headers=headers)
        response = conn.getresponse()
        response.read()
        answers.append(response.status)
    conn.close()
    assert sorted(answers) == [200, 401]
    assert _last_used_ip(replicas[0], account.name) == "127.0.0.2"


class _Echo(http.server.BaseHTTPRequestHandler):
    """Answers with the X-Forwarded-For lines it got; its port is its X-Request-Id."""

    def do_GET(self) -> None:
        body = json.dumps(self.headers.get_all("X-Forwarded-For") or []).encode()
        self.send_response(200)
        self.send_header("X-Request-Id", str(self.connection.getsockname()[1]))
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class _EchoServer(http.server.ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        pass  # health checks hang up without reading the answer


@pytest.fixture
def echo_backends() -> Iterator[list[str]]:
    servers = [_EchoServer(("127.0.0.1", 0), _Echo) for _ in range(3)]
    threads = [threading.Thread(target=s.serve_forever, daemon=True) for s in servers]
    for thread in threads:
        thread.start()
    yield [f"127.0.0.1:{s.server_address[1]}" for s in servers]
    for server in servers:
        server.shutdown()
        server.server_close()


def test_the_forwarded_address_is_the_clients_whatever_the_client_wrote(
    echo_backends: list[str],
) -> None:
    for lb in running(Balancer(echo_backends[:1])):
        conn = http.client.HTTPConnection("127.0.0.1", lb.port, source_address=("127.0.0.2", 0))
        conn.request("GET", "/", headers={"X-Forwarded-For": "198.51.100.7"})
        seen = json.loads(conn.getresponse().read())
        conn.close()
    assert seen == ["127.0.0.2"]


def test_a_reload_changes_the_backends_without_losing_a_request(
    echo_backends: list[str],
) -> None:
    first, second, third = (backend.split(":")[1] for backend in echo_backends)
    for lb in running(Balancer(echo_backends[:2])):
        with RequestLoop(lb.port, "/", clients=4) as loop:
            loop.wait_for(50)
            reloaded_at = time.monotonic()
            lb.reload(echo_backends[1:])
            loop.wait_for(100)
        assert lb.server_states() == {"replica0": "UP", "replica1": "UP"}
    outcomes = loop.outcomes
    assert failed(outcomes) == []
    assert {o.served_by for o in outcomes if o.started < reloaded_at} == {first, second}
    assert third in {o.served_by for o in outcomes}


def _basic(user: str, secret: str) -> str:
    return base64.b64encode(f"{user}:{secret}".encode()).decode()


def _last_used_ip(server: RegauthServer, user: str) -> str | None:
    """Once the replica has written its batch of last-use records (every second)."""
    deadline = time.monotonic() + 10
    while True:
        tokens = json.loads(server.cli.check("token", "list", "--user", user, "--json"))
        if tokens[0]["last_used_ip"] or time.monotonic() > deadline:
            return tokens[0]["last_used_ip"]  # type: ignore[no-any-return]
        time.sleep(0.2)
