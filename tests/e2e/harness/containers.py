"""skopeo and podman (containers/image clients), each with a private auth file."""

from __future__ import annotations

import shutil
from pathlib import Path

from tests.e2e.harness.processes import CommandResult, child_env, flags, run

SKOPEO_BINARY = "skopeo"
PODMAN_BINARY = "podman"
NO_TLS = "--tls-verify=false"  # the registries under test speak plain HTTP on loopback


class Skopeo:
    """skopeo against plain-HTTP registries.

    Its blob-info cache (/var/lib/containers/cache/blob-info-cache-v1.boltdb) is machine-wide
    and has no option to move it, so pushes may also ask for `repository:<old>:pull` scopes
    from earlier runs; regauth must grant the subset it allows, which these tests then cover.
    """

    def __init__(self, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        (home / "tmp").mkdir(exist_ok=True)
        self.authfile = home / "auth.json"
        self._auth = ("--authfile", str(self.authfile))
        self._tmpdir = home / "tmp"
        self._binary = shutil.which(SKOPEO_BINARY) or SKOPEO_BINARY

    def run(self, *args: str, stdin: str | None = None) -> CommandResult:
        return run(
            [self._binary, "--tmpdir", str(self._tmpdir), *args],
            env=child_env(),
            stdin=stdin,
        )

    def login(self, registry: str, username: str, secret: str) -> CommandResult:
        return self.run(
            "login", *self._auth, NO_TLS, "--username", username, "--password-stdin", registry,
            stdin=secret,
        )  # fmt: skip

    def copy(self, source: str, destination: str) -> CommandResult:
        no_tls = ("--src-tls-verify=false", "--dest-tls-verify=false")
        # The machine's signature policy is not what these tests are about.
        return self.run("--insecure-policy", "copy", *self._auth, *no_tls, source, destination)

    def inspect(self, reference: str, *, anonymous: bool = False) -> CommandResult:
        credentials = ("--no-creds",) if anonymous else self._auth
        return self.run("inspect", *credentials, NO_TLS, reference)

    def list_tags(self, reference: str) -> CommandResult:
        return self.run("list-tags", *self._auth, NO_TLS, reference)

    def delete(self, reference: str) -> CommandResult:
        return self.run("delete", *self._auth, NO_TLS, reference)


class PodmanStorage:
    """Rootful podman storage private to the test session (vfs, cgroupfs, file events)."""

    def __init__(self, root: Path):
        self.root = root
        for sub in ("root", "runroot", "tmp", "images-tmp"):
            (root / sub).mkdir(parents=True, exist_ok=True)

    def client(self, home: Path) -> Podman:
        return Podman(self, home)


class Podman:
    """podman on the session's storage, with a per-test auth file."""

    def __init__(self, storage: PodmanStorage, home: Path):
        home.mkdir(parents=True, exist_ok=True)
        self.authfile = home / "auth.json"
        root = storage.root
        self._global = flags(
            {
                "--root": str(root / "root"),
                "--runroot": str(root / "runroot"),
                "--tmpdir": str(root / "tmp"),
                "--storage-driver": "vfs",
                "--cgroup-manager": "cgroupfs",
                "--events-backend": "file",
            }
        )
        # TMPDIR is where podman unpacks images it loads or pulls (default /var/tmp).
        self._env = child_env(
            {"REGISTRY_AUTH_FILE": str(self.authfile), "TMPDIR": str(root / "images-tmp")}
        )
        self._binary = shutil.which(PODMAN_BINARY) or PODMAN_BINARY

    def run(self, *args: str, stdin: str | None = None) -> CommandResult:
        return run([self._binary, *self._global, *args], env=self._env, stdin=stdin)

    def login(self, registry: str, username: str, secret: str) -> CommandResult:
        return self.run(
            "login", NO_TLS, "--username", username, "--password-stdin", registry, stdin=secret
        )

    def push(self, reference: str) -> CommandResult:
        return self.run("push", NO_TLS, reference)

    def pull(self, reference: str) -> CommandResult:
        return self.run("pull", NO_TLS, reference)
