"""Fixtures for the end-to-end tests: regauth, real registries and real clients on 127.0.0.1."""

from __future__ import annotations

import os
import re
import shutil
import tempfile
from collections.abc import Callable, Generator, Iterator
from pathlib import Path
from typing import Protocol, TypeVar

import pytest

from tests.e2e.harness.containerd import Containerd, Ctr
from tests.e2e.harness.containers import Podman, PodmanStorage, Skopeo
from tests.e2e.harness.crane_oras import (
    CLIENTS_CACHE,
    VERSIONS_RUN,
    ClientBinary,
    Crane,
    Oras,
    find_client,
)
from tests.e2e.harness.dockerd import DockerClient, Dockerd
from tests.e2e.harness.prerequisites import missing_prerequisites
from tests.e2e.harness.processes import LOG_TAIL_CHARS, RUNNING
from tests.e2e.harness.regauth import Flavour, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.ci import missing
from tests.support.images import BuiltImage, build_image

X5C = Flavour("x5c", algorithm="ES256", x5c=True)
# Tokens carry only `kid`; RS256 so the second algorithm also meets a real registry.
KID_ONLY = Flavour("kid-only", algorithm="RS256", x5c=False)

# Every client in the suite connects from 127.0.0.1, so the per-address allowance of failed
# sign-ins would be one budget for all tests together; the per-(address, user) one is tested.
SUITE_LIMITS = {"failures_per_ip": 10_000}

LOG_MARKS = pytest.StashKey[dict[str, int]]()


def _ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


@pytest.fixture(scope="session", autouse=True)
def _e2e_prerequisites() -> None:
    missing = missing_prerequisites()
    if not missing:
        return
    message = "end-to-end prerequisites missing: " + "; ".join(missing)
    if _ci():
        # In CI a missing client means the suite did not test what it claims to.
        pytest.fail(f"{message}. CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(f"{message}. Run scripts/test (as root) to install them.")


@pytest.fixture(scope="session")
def service_root() -> Iterator[Path]:
    root = Path(tempfile.mkdtemp(prefix="regauth-e2e."))
    yield root
    shutil.rmtree(root, ignore_errors=True)


@pytest.fixture(scope="session")
def test_image(service_root: Path) -> BuiltImage:
    return build_image(service_root / "image", content="hello from the regauth e2e tests\n")


def _regauth(
    root: Path, flavour: Flavour, *, name: str = "", public_host: str | None = None
) -> Iterator[RegauthServer]:
    server = RegauthServer(
        root / f"regauth-{name or flavour.name}",
        flavour,
        limits=SUITE_LIMITS,
        public_host=public_host,
    )
    server.start()
    yield server
    server.stop()


def _registry(root: Path, regauth: RegauthServer, *, name: str = "") -> Iterator[Registry]:
    name = name or regauth.flavour.name
    registry = Registry(
        root / f"registry-{name}", name=name, auth_stanza=regauth.registry_auth_stanza()
    )
    registry.start()
    yield registry
    registry.stop()


@pytest.fixture(scope="session")
def regauth(service_root: Path) -> Iterator[RegauthServer]:
    yield from _regauth(service_root, X5C)


@pytest.fixture(scope="session")
def registry(service_root: Path, regauth: RegauthServer) -> Iterator[Registry]:
    yield from _registry(service_root, regauth)


@pytest.fixture(scope="session")
def kid_only_regauth(service_root: Path) -> Iterator[RegauthServer]:
    yield from _regauth(service_root, KID_ONLY)


@pytest.fixture(scope="session")
def kid_only_registry(service_root: Path, kid_only_regauth: RegauthServer) -> Iterator[Registry]:
    yield from _registry(service_root, kid_only_regauth)


# crane from v0.21.4 refuses a token realm on a loopback or private IP address, so its
# registry sends clients to regauth by the name `localhost`.
@pytest.fixture(scope="session")
def localhost_regauth(service_root: Path) -> Iterator[RegauthServer]:
    yield from _regauth(service_root, X5C, name="localhost-realm", public_host="localhost")


@pytest.fixture(scope="session")
def localhost_registry(service_root: Path, localhost_regauth: RegauthServer) -> Iterator[Registry]:
    yield from _registry(service_root, localhost_regauth, name="localhost-realm")


class _Daemon(Protocol):
    def start(self) -> None: ...
    def stop(self) -> None: ...


DaemonT = TypeVar("DaemonT", bound=_Daemon)


def _running(daemon: DaemonT) -> Iterator[DaemonT]:
    """Started for the session; stopped even when it failed half way through starting."""
    try:
        daemon.start()
        yield daemon
    finally:
        daemon.stop()


@pytest.fixture(scope="session")
def dockerd(registry: Registry) -> Iterator[Dockerd]:
    yield from _running(Dockerd(insecure_registries=[registry.host]))


@pytest.fixture
def docker(dockerd: Dockerd, tmp_path: Path) -> DockerClient:
    """The docker CLI with a fresh credential store: not logged in anywhere."""
    return dockerd.client(tmp_path / "docker-config")


@pytest.fixture
def docker_clients(dockerd: Dockerd, tmp_path: Path) -> Callable[[str], DockerClient]:
    """More docker CLIs for one test, each with its own credential store, like separate machines."""

    def client(name: str) -> DockerClient:
        return dockerd.client(tmp_path / f"docker-config-{name}")

    return client


@pytest.fixture(scope="session")
def containerd() -> Iterator[Containerd]:
    yield from _running(Containerd())


@pytest.fixture
def ctr(containerd: Containerd, request: pytest.FixtureRequest) -> Ctr:
    """ctr in a containerd namespace of this test's own (see Ctr)."""
    # Namespaces are alphanumeric words joined by single '.', '_' or '-'.
    return containerd.client(re.sub(r"[^A-Za-z0-9]+", "-", request.node.name)[:60].strip("-"))


@pytest.fixture
def skopeo(tmp_path: Path) -> Skopeo:
    return Skopeo(tmp_path / "skopeo")


@pytest.fixture(scope="session")
def podman_storage(service_root: Path) -> PodmanStorage:
    return PodmanStorage(service_root / "podman")


@pytest.fixture
def podman(podman_storage: PodmanStorage, tmp_path: Path) -> Podman:
    return podman_storage.client(tmp_path / "podman")


def _unpacked_client(package: str) -> ClientBinary:
    client = find_client(package)
    if client is None:
        missing(
            f"{package} is neither unpacked in {CLIENTS_CACHE / package} nor on PATH "
            "(scripts/test fetches it from Debian unstable)"
        )
    VERSIONS_RUN.add(str(client))
    return client


@pytest.fixture(scope="session")
def crane_binary() -> ClientBinary:
    return _unpacked_client("crane")


@pytest.fixture
def crane(crane_binary: ClientBinary, tmp_path: Path) -> Crane:
    """crane with a fresh credential store: not logged in anywhere."""
    return Crane(crane_binary, tmp_path / "crane")


@pytest.fixture(scope="session")
def oras_binary() -> ClientBinary:
    return _unpacked_client("oras")


@pytest.fixture
def oras(oras_binary: ClientBinary, tmp_path: Path) -> Oras:
    """oras with a fresh registry config: not logged in anywhere."""
    return Oras(oras_binary, tmp_path / "oras")


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Which crane and oras ran: they come from Debian unstable, whose versions move."""
    if VERSIONS_RUN:
        terminalreporter.write_sep("-", "clients from Debian unstable that ran")
        for line in sorted(VERSIONS_RUN):
            terminalreporter.write_line(line)


# A failing e2e test shows what the services logged while it ran.
@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, None, None]:
    item.stash[LOG_MARKS] = {service.name: service.log_size() for service in RUNNING}
    return (yield)


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    if report.when == "call" and report.failed and LOG_MARKS in item.stash:
        marks = item.stash[LOG_MARKS]
        for service in RUNNING:
            text = service.log_text(marks.get(service.name, 0))[-LOG_TAIL_CHARS:]
            report.sections.append((f"log of {service.name} during the test", text))
    return report
