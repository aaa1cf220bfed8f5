"""Writing key files so that a process reading them at any moment sees whole files."""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

from regauth.errors import ConfigError


def keep_as_previous(cert_path: Path, now: datetime) -> None:
    # A copy, not a hard link to signing-cert.pem: an in-place edit of one must not change both.
    stamp = now.strftime("%Y%m%dT%H%M%SZ")
    tmp = write_temp(cert_path, cert_path.read_bytes(), 0o644)
    try:
        for n in range(1000):
            try:
                os.link(tmp, cert_path.with_name(f"previous-{stamp}-{n:03d}.pem"))
                return
            except FileExistsError:
                continue
    finally:
        tmp.unlink()
    raise ConfigError(f"too many rotations at {stamp}; retry in a second")


def create_once(path: Path, make: Callable[[], bytes], *, mode: int) -> bytes:
    """Write `make()` to `path` unless it exists; return what is there, maybe a racer's file."""
    if not path.exists():
        # Written under a temporary name and linked into place, so a racing reader never
        # sees a half-written file; the link fails if another process got there first.
        tmp = write_temp(path, make(), mode)
        try:
            os.link(tmp, path)
        except FileExistsError:
            pass
        finally:
            tmp.unlink()
    return path.read_bytes()


def replace(path: Path, data: bytes, *, mode: int) -> None:
    tmp = write_temp(path, data, mode)
    try:
        os.replace(tmp, path)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise


def write_temp(path: Path, data: bytes, mode: int) -> Path:
    tmp = path.with_name(f".{path.name}.{secrets.token_hex(8)}.tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            # Renaming an unsynced file can leave it empty after a crash (ext4).
            os.fsync(f.fileno())
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    return tmp
