"""regauth's container image: the Dockerfile built on a local Debian base, and run by dockerd.

The machines reach Debian's mirror and PyPI but no container registry, so the base image is
a Debian bookworm root with python3 made by debootstrap (once per machine, kept as a tarball)
and the Python packages come from a wheelhouse built here and put in the build context.
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.processes import HarnessError, child_env, run

PROJECT_ROOT = Path(__file__).resolve().parents[3]
BASE_TAG = "regauth-e2e/python:bookworm"
IMAGE_TAG = "regauth-e2e/regauth:test"
DEBIAN_MIRROR = "http://deb.debian.org/debian"
BASE_CACHE = Path("/var/cache/regauth-tests/bookworm-python3.tar")
# What the image is built from (the Dockerfile's .dockerignore says the same).
CONTEXT_FILES = ("Dockerfile", ".dockerignore", "pyproject.toml", "README.md")
CONTEXT_DIRS = ("src", "config")
BUILD_TIMEOUT_SECONDS = 900.0


def base_tarball() -> Path:
    """A minimal Debian bookworm root with python3 and its venv module, as a tar file."""
    if BASE_CACHE.exists():
        return BASE_CACHE
    BASE_CACHE.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=BASE_CACHE.parent) as scratch:
        root = Path(scratch) / "root"
        made = run(
            [
                "debootstrap",
                "--variant=minbase",
                "--include=python3,python3-venv",
                "bookworm",
                str(root),
                DEBIAN_MIRROR,
            ],
            env=child_env(),
            timeout=BUILD_TIMEOUT_SECONDS,
        )
        if not made.ok:
            raise HarnessError(f"debootstrap could not make the base image:\n{made}")
        partial = Path(scratch) / "root.tar"
        packed = run(
            ["tar", "--numeric-owner", "-C", str(root), "-cf", str(partial), "."],
            env=child_env(),
        )
        if not packed.ok:
            raise HarnessError(f"could not pack the base image:\n{packed}")
        os.replace(partial, BASE_CACHE)  # whole or not at all, for the next run
    return BASE_CACHE


def build_context(dest: Path) -> Path:
    """The project's image inputs plus wheels/: regauth's dependencies and build backend."""
    for name in CONTEXT_FILES:
        shutil.copy2(PROJECT_ROOT / name, dest / name)
    for name in CONTEXT_DIRS:
        shutil.copytree(
            PROJECT_ROOT / name,
            dest / name,
            ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"),
        )
    wheels = dest / "wheels"
    pip = [sys.executable, "-m", "pip"]
    for args in (
        ["wheel", "--quiet", "--wheel-dir", str(wheels), f"{dest}[fast]"],
        ["download", "--quiet", "--dest", str(wheels), "setuptools>=68", "wheel"],
    ):
        done = run([*pip, *args], env=child_env(), timeout=BUILD_TIMEOUT_SECONDS)
        if not done.ok:
            raise HarnessError(f"could not fill the wheelhouse:\n{done}")
    return dest


def build_image(docker: DockerClient, scratch: Path) -> str:
    """Build the Dockerfile as a user would, on the local base and from the wheelhouse."""
    imported = docker.run("import", str(base_tarball()), BASE_TAG)
    if not imported.ok:
        raise HarnessError(f"docker could not import the base image:\n{imported}")
    context = build_context(scratch)
    built = docker.run(
        "build",
        "--network",
        "host",
        "--build-arg",
        f"PYTHON_IMAGE={BASE_TAG}",
        "--build-arg",
        "PIP_OPTIONS=--no-index --find-links /src/wheels",
        "--tag",
        IMAGE_TAG,
        str(context),
        timeout=BUILD_TIMEOUT_SECONDS,
    )
    if not built.ok:
        raise HarnessError(f"docker build failed:\n{built}")
    return IMAGE_TAG
