"""The Dockerfile, built and run: a non-root service with its data in the volume, two workers,
the CLI inside the container, and a token that verifies against the exported certificate."""

from __future__ import annotations

import base64
import json
import shutil
import tarfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import jwt
import pytest
from cryptography import x509

from tests.e2e.harness.dockerd import DockerClient, Dockerd
from tests.e2e.harness.image import PROJECT_ROOT, build_image
from tests.e2e.harness.processes import CommandResult, free_port, http_get


@dataclass(frozen=True)
class Container:
    docker: DockerClient
    name: str
    url: str

    def exec(self, *args: str, stdin: str | None = None) -> CommandResult:
        interactive = ("--interactive",) if stdin is not None else ()
        return self.docker.run("exec", *interactive, self.name, *args, stdin=stdin)


@pytest.fixture(scope="module")
def image(dockerd: Dockerd, tmp_path_factory: pytest.TempPathFactory) -> str:
    docker = dockerd.client(tmp_path_factory.mktemp("image-docker-config"))
    return build_image(docker, tmp_path_factory.mktemp("image-context"))


@pytest.fixture(scope="module")
def container(
    image: str, dockerd: Dockerd, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Container]:
    docker = dockerd.client(tmp_path_factory.mktemp("container-docker-config"))
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    name = f"regauth-e2e-{port}"
    started = docker.run(
        "run",
        "--detach",
        "--name",
        name,
        "--network",
        "host",
        "--env",
        f"REGAUTH_SERVER_LISTEN=127.0.0.1:{port}",
        "--env",
        f"REGAUTH_SERVER_PUBLIC_URL={url}",
        "--env",
        "REGAUTH_SERVER_WORKERS=2",
        image,
    )
    assert started.ok, started
    try:
        _wait_healthy(docker, name, url)
        yield Container(docker, name, url)
    finally:
        docker.run("rm", "--force", "--volumes", name)


def _wait_healthy(docker: DockerClient, name: str, url: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if http_get(f"{url}/healthz", timeout=2).status == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"the container never answered /healthz:\n{docker.run('logs', name)}")


def test_the_service_runs_as_an_unprivileged_user_with_its_data_in_the_volume(
    container: Container,
) -> None:
    assert container.exec("id", "-u").stdout.strip() == "10001"
    # Created by the service itself in the volume: the database and the generated keys.
    owners = container.exec(
        "stat", "-c", "%u %a %n", "/var/lib/regauth/data/regauth.db", "/var/lib/regauth/data/keys"
    )
    assert owners.ok, owners
    assert [line.split()[0] for line in owners.stdout.splitlines()] == ["10001", "10001"]
    mounts = json.loads(container.docker.run("inspect", container.name).stdout)[0]["Mounts"]
    assert [m["Destination"] for m in mounts] == ["/var/lib/regauth/data"]


def test_two_workers_serve_under_a_supervisor(container: Container) -> None:
    # No procps in a slim image: every process's command line from /proc.
    processes = container.exec(
        "sh", "-c", "for p in /proc/[0-9]*; do tr '\\0' ' ' < $p/cmdline; echo; done"
    )
    serving = [line for line in processes.stdout.splitlines() if "regauth serve" in line]
    assert len(serving) == 3, processes  # the supervisor (PID 1) and two workers


def test_the_cli_in_the_image_makes_a_token_that_the_service_honours(container: Container) -> None:
    added = container.exec(
        "regauth", "user", "add", "alice", "--password-stdin", stdin="pw-alice\n"
    )
    assert added.ok, added
    created = container.exec(
        "regauth", "token", "create", "--user", "alice", "--description", "ci",
        "--access", "read", "--expires", "30d",
    )  # fmt: skip
    assert created.ok, created
    pat = created.stdout.strip()
    basic = base64.b64encode(f"alice:{pat}".encode()).decode()

    answer = http_get(
        f"{container.url}/token?service=registry&scope=repository:alice/app:pull,push",
        headers={"Authorization": f"Basic {basic}"},
    )
    assert answer.status == 200, answer
    token = answer.json()["token"]
    bundle = container.exec("regauth", "keys", "export", "--format", "pem")
    assert bundle.ok, bundle
    certificate = x509.load_pem_x509_certificates(bundle.stdout.encode())[0]
    claims = jwt.decode(
        token,
        certificate.public_key(),  # type: ignore[arg-type]
        algorithms=["ES256"],
        audience="registry",
    )
    # A read token caps what alice may do in her own namespace.
    assert claims["sub"] == "alice"
    assert claims["access"] == [{"type": "repository", "name": "alice/app", "actions": ["pull"]}]

    wrong_pat = pat[:-1] + ("y" if pat.endswith("x") else "x")
    wrong = base64.b64encode(f"alice:{wrong_pat}".encode()).decode()
    refused = http_get(
        f"{container.url}/token?service=registry&scope=repository:alice/app:pull",
        headers={"Authorization": f"Basic {wrong}"},
    )
    assert refused.status == 401


def test_the_healthcheck_command_passes_and_no_sources_are_shipped(
    container: Container,
) -> None:
    health = json.loads(container.docker.run("inspect", container.name).stdout)[0]["Config"][
        "Healthcheck"
    ]["Test"]
    # The service listens on a port of the test's choosing: the check must follow it.
    assert health == ["CMD", "regauth", "health"]
    assert container.exec(*health[1:]).ok
    assert not container.exec("env", "REGAUTH_SERVER_LISTEN=127.0.0.1:1", *health[1:]).ok
    assert not container.exec("test", "-e", "/src").ok  # the build stage's, not copied


def test_docker_stop_ends_the_service_cleanly(image: str, dockerd: Dockerd, tmp_path: Path) -> None:
    docker = dockerd.client(tmp_path / "docker-config")
    port = free_port()
    name = f"regauth-e2e-stop-{port}"
    env = ("--env", f"REGAUTH_SERVER_LISTEN=127.0.0.1:{port}", "--env", "REGAUTH_SERVER_WORKERS=2")
    assert docker.run("run", "--detach", "--name", name, "--network", "host", *env, image).ok
    try:
        _wait_healthy(docker, name, f"http://127.0.0.1:{port}")
        stopped = docker.run("stop", "--time", "20", name)
        assert stopped.ok, stopped
        state = json.loads(docker.run("inspect", name).stdout)[0]["State"]
        assert state["ExitCode"] == 0, docker.run("logs", name)
    finally:
        docker.run("rm", "--force", "--volumes", name)


def test_a_used_checkouts_database_and_keys_never_reach_the_build_context(
    dockerd: Dockerd, tmp_path: Path
) -> None:
    """`docker build .` in a checkout that has run regauth: what .dockerignore lets through is
    what docker sends, read back from an image that copies the whole context."""
    context = tmp_path / "checkout"
    kept = ["pyproject.toml", "README.md", "src/regauth/__init__.py", "config/regauth.example.toml"]
    secret = [
        "data/regauth.db",
        "data/regauth.db-wal",
        "data/regauth.db-throttle-v2",
        "data/keys/signing-key.pem",
        "data/keys/token-hmac.key",
        "data/keys/jwks.json",
        "elsewhere/regauth.db",  # [storage] path moved
        "config/keys/signing-key.pem",  # [keys] dir moved
        "config/keys/token-hmac.key",
    ]
    for name in [*kept, *secret]:
        (context / name).parent.mkdir(parents=True, exist_ok=True)
        (context / name).write_text(name)
    shutil.copy2(PROJECT_ROOT / ".dockerignore", context / ".dockerignore")
    (context / "Dockerfile").write_text("FROM scratch\nCOPY . /context/\n")
    docker = dockerd.client(tmp_path / "docker-config")
    tag = f"regauth-e2e/context-probe:{tmp_path.name.lower()}"
    built = docker.run("build", "--tag", tag, str(context))
    assert built.ok, built
    created = docker.run("create", tag, "/none")  # never started: scratch has no shell
    assert created.ok, created
    container = created.stdout.strip()
    try:
        exported = tmp_path / "context.tar"
        assert docker.run("export", "--output", str(exported), container).ok
        with tarfile.open(exported) as tar:
            shipped = {m.name.removeprefix("context/") for m in tar.getmembers() if m.isfile()}
    finally:
        docker.run("rm", container)
        docker.run("rmi", tag)
    assert set(kept) <= shipped
    assert shipped & set(secret) == set()
