"""A private containerd and its `ctr` client: containerd's own registry resolver, the code that
containerd, BuildKit, nerdctl and Docker with the containerd image store use to get tokens.

It differs from docker's, skopeo's and podman's: with a username and password it asks for a
token with the OAuth2 form first (POST /token, grant_type=password), and with a refresh token
with grant_type=refresh_token; anonymous, it uses GET.
"""

from __future__ import annotations

import dataclasses
import shutil
import tempfile
from pathlib import Path

from tests.e2e.harness.processes import (
    CommandResult,
    HarnessError,
    Service,
    child_env,
    run,
)

CONTAINERD_BINARY = "containerd"
CTR_BINARY = "ctr"


class Containerd:
    """containerd with its own root, state and sockets under one temp dir; no CRI plugin."""

    def __init__(self) -> None:
        # Unix socket paths are limited to ~107 bytes, so not under pytest's deep tmp dirs.
        self.root = Path(tempfile.mkdtemp(prefix="regauth-containerd.", dir="/tmp"))
        self.address = str(self.root / "containerd.sock")
        self._service: Service | None = None

    def start(self) -> None:
        config = self.root / "config.toml"
        config.write_text(
            "\n".join(
                [
                    "version = 2",
                    f'root = "{self.root / "root"}"',
                    f'state = "{self.root / "state"}"',
                    'disabled_plugins = ["io.containerd.grpc.v1.cri"]',
                    "[grpc]",
                    f'  address = "{self.address}"',
                    "[ttrpc]",
                    f'  address = "{self.root / "containerd.sock.ttrpc"}"',
                    "[debug]",
                    '  address = ""',
                    "",
                ]
            )
        )
        binary = shutil.which(CONTAINERD_BINARY, path=child_env()["PATH"]) or CONTAINERD_BINARY
        self._service = Service(
            "containerd",
            [binary, "--config", str(config)],
            log_path=self.root / "containerd.log",
            env=child_env(),
        )
        probe = self.client("default")
        self._service.wait_until(lambda: probe.run("version").ok, "answer to `ctr version`")

    def stop(self) -> None:
        if self._service is not None:
            self._service.stop()
        shutil.rmtree(self.root, ignore_errors=True)

    def client(self, namespace: str) -> Ctr:
        return Ctr(self.address, namespace)


class Ctr:
    """`ctr` against our containerd, over plain HTTP, in a namespace of its own.

    containerd labels each pulled blob with the repository it came from, per namespace, and on
    a later push to another repository first tries to mount the blob from there
    (cross-repository mount). A namespace per test keeps one test's pulls out of another's
    pushes.
    """

    def __init__(self, address: str, namespace: str) -> None:
        self._prefix = [
            shutil.which(CTR_BINARY, path=child_env()["PATH"]) or CTR_BINARY,
            "--address",
            address,
            "--namespace",
            namespace,
        ]

    def run(self, *args: str) -> CommandResult:
        result = run([*self._prefix, *args], env=child_env())
        # ctr takes secrets only as arguments; keep them out of failure reports.
        return dataclasses.replace(result, args=_redacted(result.args))

    def check(self, *args: str) -> str:
        result = self.run(*args)
        if not result.ok:
            raise HarnessError(str(result))
        return result.stdout

    def import_archive(self, archive: Path, reference: str) -> None:
        """Load a docker-archive and name the image `reference`."""
        self.check("images", "import", "--index-name", reference, str(archive))

    def pull(self, reference: str, *auth: str) -> CommandResult:
        """`auth`: ("--user", "name:secret"), ("--refresh", token) or nothing (anonymous)."""
        return self.run("images", "pull", "--plain-http", *auth, reference)

    def push(self, reference: str, *auth: str) -> CommandResult:
        return self.run("images", "push", "--plain-http", *auth, reference)

    def remove(self, reference: str) -> None:
        self.run("images", "remove", reference)

    def digest(self, reference: str) -> str | None:
        """The manifest digest containerd holds for `reference`, or None."""
        for line in self.check("images", "list", f"name=={reference}").splitlines()[1:]:
            fields = line.split()
            if fields and fields[0] == reference:
                return next((f for f in fields if f.startswith("sha256:")), None)
        return None


def _redacted(args: tuple[str, ...]) -> tuple[str, ...]:
    """`--user name:secret` -> `--user name:***`, `--refresh token` -> `--refresh ***`."""
    shown = list(args)
    for i, arg in enumerate(args[:-1]):
        if arg == "--user":
            shown[i + 1] = args[i + 1].split(":", 1)[0] + ":***"
        elif arg == "--refresh":
            shown[i + 1] = "***"
    return tuple(shown)
