"""A staged signing-key rotation, ES256 -> RS256 and back, under a loop of pulls through a real
distribution 2.8: stage, reload the registry, activate (regauth keeps running: both workers
switch), retire, reload again. No pull fails, and the 3.x stanza names every trusted algorithm
at every step.

distribution has no live reload: the registry is restarted, and the pulls pause for that
(a registry that is down refuses connections whatever the keys; a balancer in front of two
would hide it). Everything else happens under load, and some clients keep using a token for
45 s, as docker does, so tokens of the old key reach the registry after the activation.
"""

from __future__ import annotations

import base64
import json
import re
import threading
import time
import urllib.parse
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType
from typing import Any

import pytest

from tests.e2e.harness.containers import Skopeo
from tests.e2e.harness.processes import HarnessError, http_get
from tests.e2e.harness.regauth import SERVICE, Account, Flavour, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

TTL_SECONDS = 60  # the shortest [token] ttl_seconds, so retiring comes soon
MARGIN_SECONDS = 60  # `keys retire --margin`: the least it allows (the registry's leeway)
TOKEN_REUSE_SECONDS = 45.0  # how long a caching client keeps a token (< TTL_SECONDS)
MANIFEST_TYPES = ", ".join(
    [
        "application/vnd.oci.image.manifest.v1+json",
        "application/vnd.docker.distribution.manifest.v2+json",
    ]
)


@dataclass
class Pulls:
    """What the pull loop saw: pulls by the algorithm of the token used, and every failure."""

    ok: dict[str, int] = field(default_factory=dict)
    failures: list[str] = field(default_factory=list)

    def total(self) -> int:
        return sum(self.ok.values())


class PullLoop:
    """`clients` threads pulling `repository:v1` (token, manifest, config blob) one pull after
    another; odd clients fetch a token per pull, even ones keep theirs TOKEN_REUSE_SECONDS.
    `paused()` holds new pulls and waits for those under way (the registry restart)."""

    def __init__(
        self, regauth: RegauthServer, registry: Registry, account: Account, *, clients: int = 4
    ):
        self._regauth, self._registry, self._account = regauth, registry, account
        self._stop = threading.Event()
        self._running = threading.Event()
        self._running.set()
        self._lock = threading.Lock()
        self._in_flight = 0
        self.pulls = Pulls()
        self._threads = [
            threading.Thread(target=self._client, args=(n % 2 == 0,), daemon=True)
            for n in range(clients)
        ]

    def __enter__(self) -> PullLoop:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._running.set()
        for thread in self._threads:
            thread.join(timeout=30)

    def paused(self) -> _Paused:
        return _Paused(self)

    def wait_for(self, more: int, timeout: float = 60.0) -> None:
        target = self.pulls.total() + more
        deadline = time.monotonic() + timeout
        while self.pulls.total() < target:
            if time.monotonic() > deadline:
                raise HarnessError(f"pull loop: {self.pulls.total()} of {target} in {timeout}s")
            time.sleep(0.05)

    def _client(self, keeps_tokens: bool) -> None:
        token, fetched = "", 0.0
        while not self._stop.is_set():
            self._running.wait()
            with self._lock:
                if not self._running.is_set():
                    continue
                self._in_flight += 1
            try:
                if (
                    not token
                    or not keeps_tokens
                    or time.monotonic() - fetched > TOKEN_REUSE_SECONDS
                ):
                    token, fetched = self._token(), time.monotonic()
                self._pull(token)
            except Exception as exc:  # a failed pull, whatever failed
                with self._lock:
                    self.pulls.failures.append(f"{time.strftime('%H:%M:%S')} {exc}")
                token = ""
            finally:
                with self._lock:
                    self._in_flight -= 1
            time.sleep(0.02)

    def _token(self) -> str:
        query = urllib.parse.urlencode(
            {"service": SERVICE, "scope": f"repository:{self._account.repository()}:pull"}
        )
        basic = base64.b64encode(f"{self._account.name}:{self._account.pat}".encode()).decode()
        answer = http_get(f"{self._regauth.realm}?{query}", {"Authorization": f"Basic {basic}"})
        if answer.status != 200:
            raise HarnessError(f"GET /token: {answer.status} {answer.body!r}")
        return str(answer.json()["token"])

    def _pull(self, token: str) -> None:
        auth = {"Authorization": f"Bearer {token}"}
        name = self._account.repository()
        manifest = http_get(
            f"{self._registry.url}/v2/{name}/manifests/v1", {**auth, "Accept": MANIFEST_TYPES}
        )
        if manifest.status != 200:
            raise HarnessError(f"manifest: {manifest.status} {manifest.body[:300]!r}")
        digest = manifest.json()["config"]["digest"]
        blob = http_get(f"{self._registry.url}/v2/{name}/blobs/{digest}", auth)
        if blob.status != 200:
            raise HarnessError(f"blob: {blob.status} {blob.body[:300]!r}")
        algorithm = _header(token)["alg"]
        with self._lock:
            self.pulls.ok[algorithm] = self.pulls.ok.get(algorithm, 0) + 1


class _Paused:
    def __init__(self, loop: PullLoop) -> None:
        self._loop = loop

    def __enter__(self) -> None:
        with self._loop._lock:
            self._loop._running.clear()
        while True:
            with self._loop._lock:
                if self._loop._in_flight == 0:
                    return
            time.sleep(0.01)

    def __exit__(self, *exc: object) -> None:
        self._loop._running.set()


def _header(token: str) -> dict[str, str]:
    part = token.split(".")[0]
    return dict(json.loads(base64.urlsafe_b64decode(part + "=" * (-len(part) % 4))))


@pytest.fixture
def rotating(tmp_path: Path) -> Iterator[RegauthServer]:
    # Two workers under the supervisor, kid-only tokens (the registry matches the kid).
    server = RegauthServer(
        tmp_path / "regauth",
        Flavour("rotation", algorithm="ES256", x5c=False),
        workers=2,
        ttl_seconds=TTL_SECONDS,
    )
    server.start()
    yield server
    server.stop()


@pytest.fixture
def rotation_registry(tmp_path: Path, rotating: RegauthServer) -> Iterator[Registry]:
    registry = Registry(
        tmp_path / "registry", name="rotation", auth_stanza=rotating.registry_auth_stanza()
    )
    registry.start()
    yield registry
    registry.stop()


def _set_algorithm(server: RegauthServer, algorithm: str) -> None:
    text = server.config_path.read_text()
    server.config_path.write_text(
        re.sub(r'(?m)^algorithm = ".*"$', f'algorithm = "{algorithm}"', text)
    )


def _v3_algorithms(server: RegauthServer) -> list[str]:
    stanza = server.cli.check("registry-config", "--registry-version", "3")
    assert f'jwks: "{server.keys_dir.resolve() / "jwks.json"}"' in stanza
    found = re.search(r"^    signingalgorithms: \[(.*)\]$", stanza, re.MULTILINE)
    assert found, stanza
    return found.group(1).split(", ")


def _show(server: RegauthServer) -> dict[str, Any]:
    return dict(json.loads(server.cli.check("keys", "show", "--json")))


def _signing_kids(server: RegauthServer, account: Account, samples: int = 8) -> set[str]:
    """The kids of fresh tokens: both workers answer (connections are dealt in turn)."""
    scope = f"repository:{account.repository()}:pull"
    return {_header(server.fetch_token(scope, account=account))["kid"] for _ in range(samples)}


def _wait_until_signing(server: RegauthServer, account: Account, kid: str) -> float:
    """Seconds until every worker signs with `kid`."""
    started = time.monotonic()
    while _signing_kids(server, account) != {kid}:
        if time.monotonic() - started > 10:
            raise HarnessError(f"workers still sign with {_signing_kids(server, account)}")
        time.sleep(0.1)
    return time.monotonic() - started


def _rotate(
    server: RegauthServer,
    registry: Registry,
    loop: PullLoop,
    account: Account,
    old: str,
    new: str,
) -> None:
    """One whole staged rotation from the `old` algorithm to `new`, the pulls running."""
    before = _show(server)
    assert before["algorithm"] == old and _v3_algorithms(server) == [old]
    _set_algorithm(server, new)

    staged = server.cli.check("keys", "rotate", "--stage").strip()
    loop.wait_for(20)
    shown = _show(server)
    assert (shown["kid"], shown["staged_kid"]) == (before["kid"], staged)
    assert _signing_kids(server, account) == {before["kid"]}  # published, not signing
    assert _v3_algorithms(server) == [old, new]
    jwks_kids = {k["kid"] for k in json.loads((server.keys_dir / "jwks.json").read_text())["keys"]}
    assert {before["kid"], staged} <= jwks_kids

    with loop.paused():
        registry.restart()  # it now trusts the staged key too
    loop.wait_for(20)

    activated = server.cli.run("keys", "activate")
    assert activated.ok, activated
    switch = _wait_until_signing(server, account, staged)
    assert switch < 5, switch  # no restart: each worker noticed within about a second
    shown = _show(server)
    assert (shown["kid"], shown["algorithm"], shown["staged_kid"]) == (staged, new, None)
    assert _v3_algorithms(server) == [new, old]
    loop.wait_for(20)

    early = server.cli.run("keys", "retire", "--margin", str(MARGIN_SECONDS))
    assert early.returncode == 1 and "no key can be retired yet" in early.stderr, early
    [previous] = [k for k in shown["keys"] if k["state"] == "previous"]
    # show's retire_after is for the default margin; this test retires with the shortest one.
    deadline = time.time() + TTL_SECONDS + MARGIN_SECONDS + 1
    while time.time() < deadline:
        loop.wait_for(1)
        time.sleep(1)
    retired = server.cli.run("keys", "retire", "--margin", str(MARGIN_SECONDS))
    assert retired.ok and retired.stdout.split() == [previous["kid"]], retired
    assert _v3_algorithms(server) == [new]
    assert [k["state"] for k in _show(server)["keys"]] == ["active"]

    with loop.paused():
        registry.restart()  # it no longer trusts the retired key
    loop.wait_for(20)


def test_staged_rotation_under_pulls_fails_no_pull(
    rotating: RegauthServer,
    rotation_registry: Registry,
    test_image: BuiltImage,
    tmp_path: Path,
) -> None:
    account = rotating.cli.new_account("read", prefix="rotation")
    skopeo = Skopeo(tmp_path / "skopeo")
    # The pulling account reads its own namespace: push there as its owner with a write PAT.
    owner_pat = rotating.cli.create_pat(account.name, "write")
    assert skopeo.login(rotation_registry.host, account.name, owner_pat).ok
    pushed = skopeo.copy(
        test_image.oci_reference, f"docker://{rotation_registry.reference(account.repository())}"
    )
    assert pushed.ok, pushed

    with PullLoop(rotating, rotation_registry, account) as loop:
        loop.wait_for(20)
        _rotate(rotating, rotation_registry, loop, account, "ES256", "RS256")
        _rotate(rotating, rotation_registry, loop, account, "RS256", "ES256")
    pulls = loop.pulls
    assert pulls.failures == [], pulls.failures
    # Both algorithms' tokens were used, and the run was a real loop, not a handful.
    assert pulls.ok.get("ES256", 0) > 100 and pulls.ok.get("RS256", 0) > 100, pulls.ok
    log = rotating.log_since(0)
    assert log.count("signing_key_changed") == 4, log[-3000:]  # 2 workers x 2 activations


def test_activation_reaches_every_process_sharing_the_keys_dir(tmp_path: Path) -> None:
    """Replicas mount one [keys] dir (README): `keys activate`, run anywhere, reaches them all."""
    keys_dir = tmp_path / "keys"
    flavour = Flavour("shared-keys", algorithm="ES256", x5c=True)
    servers = [
        RegauthServer(tmp_path / f"replica{n}", flavour, keys_dir=keys_dir) for n in range(2)
    ]
    try:
        for server in servers:
            server.start()
        first = {_header(s.fetch_token())["kid"] for s in servers}
        assert len(first) == 1
        staged = servers[0].cli.check("keys", "rotate", "--stage").strip()
        assert {_header(s.fetch_token())["kid"] for s in servers} == first
        servers[1].cli.check("keys", "activate")  # the other replica's config, the same dir
        deadline = time.monotonic() + 5
        while {_header(s.fetch_token())["kid"] for s in servers} != {staged}:
            assert time.monotonic() < deadline, "a replica still signs with the old key"
            time.sleep(0.1)
    finally:
        for server in servers:
            server.stop()
