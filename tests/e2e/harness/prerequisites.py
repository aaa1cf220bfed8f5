"""What the end-to-end tests need from the machine, and how to say what is missing."""

from __future__ import annotations

import os
import shutil

from tests.e2e.harness.processes import child_env

# binary -> the Debian package that ships it
REQUIRED_BINARIES = {
    "docker-registry": "docker-registry",
    "dockerd": "docker.io",
    "containerd": "containerd",
    "ctr": "containerd",
    "docker": "docker.io",
    "skopeo": "skopeo",
    "podman": "podman",
    "debootstrap": "debootstrap",  # the base image of the container image test
}


def missing_prerequisites() -> list[str]:
    """One line per missing piece; empty when the machine can run the e2e tests."""
    path = child_env()["PATH"]
    missing = [
        f"{binary} (apt-get install {package})"
        for binary, package in REQUIRED_BINARIES.items()
        if shutil.which(binary, path=path) is None
    ]
    if os.geteuid() != 0:
        missing.append("root (dockerd and rootful podman need it)")
    return missing
