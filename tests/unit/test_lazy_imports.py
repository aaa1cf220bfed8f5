"""Libraries only some deployments use are not loaded by every worker (README: Performance)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_REPO = Path(__file__).parents[2]
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


def test_a_worker_does_not_load_pyjwt() -> None:
    """PyJWT makes and reads API sessions and checks OIDC ID tokens, not /token's JWTs
    (signing/jwt.py): ~0.7 MiB of every worker when imported at the top."""
    assert _loaded("jwt") == ["False"]


def test_a_worker_loads_neither_the_qr_encoder_nor_package_metadata() -> None:
    """segno draws the QR code of a two-factor enrollment; importlib.metadata answers
    `--version`: ~0.8 MiB each, in every worker when imported at the top."""
    assert _loaded("segno", "importlib.metadata") == ["False", "False"]


def test_a_worker_builds_the_site_without_jinja2(tmp_path: Path) -> None:
    """The pages' templates are loaded by the first page rendered (web/templates.py), not when
    the site is built: a worker that only answers /token holds no Jinja2 (~2 MiB)."""
    code = (
        "import sys; from pathlib import Path; from tests.support.builders import make_config; "
        "from regauth.runtime import open_runtime; from regauth.web.app import create_site; "
        "runtime = open_runtime(make_config(Path(sys.argv[1]))); create_site(runtime); "
        "print(*(m in sys.modules for m in ('jinja2', 'markupsafe'))); runtime.close()"
    )
    done = subprocess.run(
        [sys.executable, "-c", code, str(tmp_path)],
        capture_output=True,
        text=True,
        check=True,
        cwd=_REPO,
    )
    assert done.stdout.split() == ["False", "False"]


def test_serve_parses_its_command_line_without_the_admin_commands(tmp_path: Path) -> None:
    """`regauth serve` builds the parser of serve alone: the admin commands' modules
    (regauth/cli/tokens.py and the rest, ~0.9 MiB) stay out of every worker forked from it."""
    code = (
        "import sys; from regauth.cli import main; "
        "print(main(['--config', sys.argv[1], 'serve'])); "
        "print(sys.modules.keys() & {'regauth.cli.tokens'})"
    )
    missing = tmp_path / "missing.toml"  # serve stops at the config, after parsing
    done = subprocess.run(
        [sys.executable, "-c", code, str(missing)], capture_output=True, text=True, check=True
    )
    assert "config file not found" in done.stderr
    assert done.stdout.split() == ["2", "set()"]


def test_help_before_the_command_lists_every_command() -> None:
    """`regauth --help serve` is the top-level help, with the admin commands in it."""
    done = subprocess.run(
        [sys.executable, "-m", "regauth", "--help", "serve"], capture_output=True, text=True
    )
    assert done.returncode == 0
    assert "token" in done.stdout.split("{", 1)[1].split("}", 1)[0].split(",")
