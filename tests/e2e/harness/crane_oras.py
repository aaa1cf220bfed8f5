"""crane (go-containerregistry) and oras (oras-go), as unpacked from Debian unstable's packages.

bookworm packages neither, so scripts/test fetches the `crane` and `oras` .debs with a private
apt setup and unpacks them under CLIENTS_CACHE/<package>/ with the package's version in
VERSION. A client on PATH is used when nothing is unpacked (its version from `version`).
"""

from __future__ import annotations

import re
import shutil
from dataclasses import dataclass
from pathlib import Path

from tests.e2e.harness.processes import CommandResult, child_env, run

CLIENTS_CACHE = Path("/var/cache/regauth-tests/clients")

# What ran in this session, for the summary at its end: "crane 0.20.7+ds1-5 (/path)".
VERSIONS_RUN: set[str] = set()


@dataclass(frozen=True)
class ClientBinary:
    package: str
    path: Path
    version: str

    def __str__(self) -> str:
        return f"{self.package} {self.version} ({self.path})"


def find_client(package: str) -> ClientBinary | None:
    """The binary of `package` (named like it), unpacked by scripts/test or else on PATH."""
    unpacked = CLIENTS_CACHE / package
    binary = unpacked / "usr" / "bin" / package
    if binary.is_file():
        version = (unpacked / "VERSION").read_text().strip() or "unknown"
        return ClientBinary(package, binary, version)
    found = shutil.which(package)
    if found is None:
        return None
    # `oras version` says "Version:    1.3.3"; a crane without build information says nothing.
    said = run([found, "version"], env=child_env()).output
    match = re.search(r"(\d+\.\d+\.\d+\S*)", said)
    return ClientBinary(package, Path(found), match.group(1) if match else "unknown")


def version_numbers(client: ClientBinary) -> tuple[int, ...]:
    """`0.20.7+ds1-5` -> (0, 20, 7)."""
    match = re.match(r"(\d+)\.(\d+)\.(\d+)", client.version)
    return tuple(int(part) for part in match.groups()) if match else ()


class Crane:
    """crane with a credential store of its own (DOCKER_CONFIG), over plain HTTP."""

    def __init__(self, client: ClientBinary, home: Path):
        self.client = client
        self.docker_config = home / "docker-config"
        self.docker_config.mkdir(parents=True, exist_ok=True)
        self._env = child_env({"DOCKER_CONFIG": str(self.docker_config), "HOME": str(home)})

    def run(self, *args: str, stdin: str | None = None) -> CommandResult:
        # --insecure: the registries under test speak plain HTTP on loopback.
        return run([str(self.client.path), "--insecure", *args], env=self._env, stdin=stdin)

    def login(self, registry: str, username: str, secret: str) -> CommandResult:
        """Only stores the credentials: crane asks for a token at its first request."""
        return self.run(
            "auth", "login", "--username", username, "--password-stdin", registry, stdin=secret
        )

    def push(self, path: Path, reference: str) -> CommandResult:
        """`path`: an OCI image layout directory or a docker-archive tarball."""
        return self.run("push", str(path), reference)

    def pull_oci(self, reference: str, layout: Path) -> CommandResult:
        return self.run("pull", "--format", "oci", reference, str(layout))

    def copy(self, source: str, destination: str) -> CommandResult:
        return self.run("copy", source, destination)

    def digest(self, reference: str) -> CommandResult:
        return self.run("digest", reference)

    def delete(self, reference: str) -> CommandResult:
        """distribution deletes manifests by digest only: `repo@sha256:...`."""
        return self.run("delete", reference)


class Oras:
    """oras with a registry config file of its own, over plain HTTP; files live in `workdir`."""

    def __init__(self, client: ClientBinary, home: Path):
        self.client = client
        self.registry_config = home / "registry-config.json"
        self.workdir = home / "files"
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._config = ("--registry-config", str(self.registry_config))
        self._env = child_env({"HOME": str(home)})

    def run(self, *args: str, stdin: str | None = None) -> CommandResult:
        # oras refuses absolute file paths in a push, so it runs in the work folder.
        return run([str(self.client.path), *args], env=self._env, stdin=stdin, cwd=self.workdir)

    def login(self, registry: str, username: str, secret: str) -> CommandResult:
        """Asks for a token (with no scope) and stores the credentials if it gets one."""
        return self.run(
            "login", "--plain-http", *self._config, "--username", username, "--password-stdin",
            registry, stdin=secret,
        )  # fmt: skip

    def push_file(self, reference: str, name: str, content: str) -> CommandResult:
        """An artifact of one text file, `name` in the work folder."""
        (self.workdir / name).write_text(content)
        return self.run("push", "--plain-http", *self._config, reference, f"{name}:text/plain")

    def pull(self, reference: str, outdir: Path) -> CommandResult:
        return self.run("pull", "--plain-http", *self._config, "--output", str(outdir), reference)

    def copy_from_layout(self, layout: Path, tag: str, destination: str) -> CommandResult:
        """An image from an OCI image layout on disk into a registry."""
        return self.run(
            "cp", "--from-oci-layout", "--to-plain-http", "--to-registry-config",
            str(self.registry_config), f"{layout}:{tag}", destination,
        )  # fmt: skip

    def copy(self, source: str, destination: str) -> CommandResult:
        return self.run(
            "cp", "--from-plain-http", "--to-plain-http",
            "--from-registry-config", str(self.registry_config),
            "--to-registry-config", str(self.registry_config), source, destination,
        )  # fmt: skip

    def descriptor(self, reference: str) -> CommandResult:
        """The manifest's descriptor as JSON (`digest`, `mediaType`, `size`)."""
        return self.run(
            "manifest", "fetch", "--plain-http", *self._config, "--descriptor", reference
        )

    def delete(self, reference: str) -> CommandResult:
        return self.run("manifest", "delete", "--plain-http", *self._config, "--force", reference)
