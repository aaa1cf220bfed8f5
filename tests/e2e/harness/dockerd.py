"""A private Docker daemon: image operations (login/load/tag/push/pull/rmi), builds, and containers
on the host network."""

from __future__ import annotations

import contextlib
import glob
import json
import os
import shutil
import signal
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tests.e2e.harness.processes import (
    COMMAND_TIMEOUT_SECONDS,
    CommandResult,
    HarnessError,
    Service,
    child_env,
    flags,
    run,
)

DOCKERD_BINARY = "dockerd"
DOCKER_BINARY = "docker"
# Image operations only: leave the host's firewall and network alone.
DAEMON_SWITCHES = (
    "--iptables=false",
    "--ip6tables=false",
    "--ip-forward=false",
    "--ip-masq=false",
    "--userland-proxy=false",
)


# Filesystems overlayfs accepts under its upper directory.
OVERLAY_LOWER_FILESYSTEMS = frozenset({"ext4", "xfs", "btrfs"})


class Dockerd:
    """No iptables/bridge, its own containerd and socket, all under one temp dir."""

    def __init__(self, insecure_registries: Sequence[str]):
        # Unix socket paths are limited to ~107 bytes, so not under pytest's deep tmp dirs.
        self.root = Path(tempfile.mkdtemp(prefix="dockerd.", dir="/tmp"))
        self.host = f"unix://{self.root / 'docker.sock'}"
        self._insecure = list(insecure_registries)
        self._service: Service | None = None

    def start(self) -> None:
        (self.root / "daemon.json").write_text("{}")  # never read /etc/docker/daemon.json
        insecure = [arg for host in self._insecure for arg in ("--insecure-registry", host)]
        binary = shutil.which(DOCKERD_BINARY, path=child_env()["PATH"]) or DOCKERD_BINARY
        options = {
            "--config-file": str(self.root / "daemon.json"),
            "--data-root": str(self.root / "data"),
            "--exec-root": str(self.root / "exec"),
            "--pidfile": str(self.root / "docker.pid"),
            "--host": self.host,
            "--storage-driver": storage_driver(self.root),
            "--bridge": "none",
            "--exec-opt": "native.cgroupdriver=cgroupfs",
        }
        self._service = Service(
            "dockerd",
            [binary, *flags(options), *DAEMON_SWITCHES, *insecure],
            log_path=self.root / "dockerd.log",
            env=child_env(),
        )
        probe = DockerClient(self.host, self.root / "probe-config")
        self._service.wait_until(lambda: probe.run("version").ok, "answer to `docker version`")

    def stop(self) -> None:
        if self._service is None:
            return
        containerd_pid = self._containerd_pid()
        # dockerd stops the containerd it supervises on SIGTERM, but only if it is let finish.
        self._service.stop(signal.SIGTERM)
        if containerd_pid is not None and self._owns(containerd_pid):
            with contextlib.suppress(ProcessLookupError):
                os.kill(containerd_pid, signal.SIGKILL)
        shutil.rmtree(self.root, ignore_errors=True)
        # containerd sometimes leaves a goroutine dump behind when it is stopped.
        for dump in glob.glob("/tmp/containerd.*.stacks.log"):
            with contextlib.suppress(OSError):
                os.remove(dump)

    def client(self, config_dir: Path) -> DockerClient:
        config_dir.mkdir(parents=True, exist_ok=True)
        return DockerClient(self.host, config_dir)

    def _owns(self, pid: int) -> bool:
        """True if `pid` still runs with our temp dir on its command line (pids get reused)."""
        try:
            return str(self.root).encode() in Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False

    def _containerd_pid(self) -> int | None:
        try:
            return int((self.root / "exec" / "containerd" / "containerd.pid").read_text().strip())
        except (OSError, ValueError):
            return None


def storage_driver(path: Path) -> str:
    """overlay2 where the data root's filesystem can hold it; vfs (a full copy per layer, ~8x
    slower to build an image) elsewhere, e.g. inside a container whose root is overlayfs."""
    best, fstype = "", ""
    for line in Path("/proc/self/mounts").read_text().splitlines():
        mount_point, kind = line.split()[1:3]
        inside = path == Path(mount_point) or Path(mount_point) in path.parents
        if inside and len(mount_point) > len(best):
            best, fstype = mount_point, kind
    return "overlay2" if fstype in OVERLAY_LOWER_FILESYSTEMS else "vfs"


class DockerClient:
    """The docker CLI talking to our daemon, with its own credential store (DOCKER_CONFIG)."""

    def __init__(self, host: str, config_dir: Path):
        self.config_dir = config_dir
        self._env = child_env({"DOCKER_HOST": host, "DOCKER_CONFIG": str(config_dir)})
        self._binary = shutil.which(DOCKER_BINARY) or DOCKER_BINARY

    def run(
        self, *args: str, stdin: str | None = None, timeout: float = COMMAND_TIMEOUT_SECONDS
    ) -> CommandResult:
        return run([self._binary, *args], env=self._env, stdin=stdin, timeout=timeout)

    def login(self, registry: str, username: str, secret: str) -> CommandResult:
        return self.run("login", registry, "--username", username, "--password-stdin", stdin=secret)

    def stored_auths(self) -> dict[str, object]:
        return dict(self.config().get("auths", {}))

    def config(self) -> dict[str, Any]:
        """config.json as docker wrote it ({} before the first login)."""
        path = self.config_dir / "config.json"
        return dict(json.loads(path.read_text())) if path.exists() else {}

    def config_text(self) -> str:
        path = self.config_dir / "config.json"
        return path.read_text() if path.exists() else ""

    def load_as(self, archive: Path, image_id: str, reference: str) -> None:
        """`docker load` an image archive and tag it `reference`; setup, so failing is an error."""
        for args in (("load", "--input", str(archive)), ("tag", image_id, reference)):
            result = self.run(*args)
            if not result.ok:
                raise HarnessError(f"docker could not load the test image:\n{result}")
