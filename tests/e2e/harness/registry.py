"""A real CNCF distribution registry (Debian `docker-registry`, 2.8) that delegates auth to regauth."""

from __future__ import annotations

import secrets
import shutil
from pathlib import Path

from tests.e2e.harness.processes import (
    HttpAnswer,
    Service,
    child_env,
    free_port,
    http_get,
    http_status,
)

REGISTRY_BINARY = "docker-registry"


class Registry:
    """Listens on a free loopback port; `auth_stanza` is regauth's `registry-config` output."""

    def __init__(self, root: Path, *, name: str, auth_stanza: str):
        self.name = name
        self.port = free_port()
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"
        (root / "data").mkdir(parents=True, exist_ok=True)
        self.config_path = root / "config.yml"
        self.config_path.write_text(self._config_yaml(root / "data") + auth_stanza)
        self.log_path = root / "registry.log"
        self._service: Service | None = None

    def reference(self, repository: str, tag: str = "v1") -> str:
        """`127.0.0.1:<port>/<repository>:<tag>`, as docker and podman spell an image."""
        return f"{self.host}/{repository}:{tag}"

    def start(self) -> None:
        binary = shutil.which(REGISTRY_BINARY) or REGISTRY_BINARY
        self._service = Service(
            f"registry[{self.name}]",
            [binary, "serve", str(self.config_path)],
            log_path=self.log_path,
            env=child_env(),
        )
        self._service.wait_until(lambda: http_status(f"{self.url}/v2/") == 401, "401 on /v2/")

    def stop(self) -> None:
        if self._service is not None:
            self._service.stop()

    def restart(self) -> None:
        """Stop and start on the same port: how distribution rereads its bundle and JWKS
        (it has no live reload)."""
        self.stop()
        self.start()

    def get(self, path: str, *, bearer: str | None = None) -> HttpAnswer:
        headers = {} if bearer is None else {"Authorization": f"Bearer {bearer}"}
        return http_get(f"{self.url}{path}", headers)

    def _config_yaml(self, data_dir: Path) -> str:
        return f"""\
version: 0.1
log:
  level: info  # token rejection reasons are logged at info
  formatter: text
storage:
  filesystem:
    rootdirectory: {data_dir}
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
  maintenance:
    uploadpurging:
      enabled: false
http:
  addr: {self.host}
  secret: {secrets.token_hex(16)}
health:
  storagedriver:
    enabled: false
"""
