"""Libraries only some deployments use are not loaded by every worker (README: Performance)."""

from __future__ import annotations

import subprocess
import sys

# What `regauth serve` imports on the embedded default, up to a serving worker.
_SERVE = "import regauth.cli, regauth.runtime, regauth.web.app, regauth.server.supervisor"


def _loaded(*modules: str) -> list[str]:
    code = f"import sys; {_SERVE}; print(*(m in sys.modules for m in {modules!r}))"
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return done.stdout.split()


def test_a_worker_without_ldap_does_not_load_ldap3() -> None:
    assert _loaded("ldap3", "pyasn1") == ["False", "False"]


def test_a_worker_on_sqlite_does_not_load_psycopg() -> None:
    """serve names its database at start; naming a file must not bring the PostgreSQL driver
    (73 modules and libpq: ~9 MiB of every worker forked from it)."""
    assert _loaded("psycopg", "psycopg_binary") == ["False", "False"]


def test_a_worker_loads_neither_the_qr_encoder_nor_package_metadata() -> None:
    """segno draws the QR code of a two-factor enrollment; importlib.metadata answers
    `--version`: ~0.8 MiB each, in every worker when imported at the top."""
    assert _loaded("segno", "importlib.metadata") == ["False", "False"]
