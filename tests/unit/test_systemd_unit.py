"""config/regauth.service: a unit systemd accepts as written, running regauth unprivileged and
hardened, with `systemctl reload` sending the SIGHUP that re-reads the config."""

from __future__ import annotations

import configparser
import shutil
import subprocess
import sys
from pathlib import Path

from tests.support.ci import missing

UNIT = Path(__file__).parents[2] / "config" / "regauth.service"
EXEC_START = "ExecStart=/opt/regauth/bin/regauth serve"


def _service() -> configparser.SectionProxy:
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    parser.optionxform = str  # type: ignore[assignment,method-assign]  # keys keep their case
    parser.read_string(UNIT.read_text())
    return parser["Service"]


def test_systemd_analyze_verifies_the_unit(tmp_path: Path) -> None:
    analyze = shutil.which("systemd-analyze")
    if analyze is None:
        missing("systemd-analyze is not installed (Debian package systemd)")
    # verify also checks that ExecStart's program exists: the one line changed is its path,
    # to this venv's regauth, since /opt/regauth is not installed on the test machine.
    text = UNIT.read_text()
    assert text.count(EXEC_START) == 1
    regauth = Path(sys.executable).with_name("regauth")
    assert regauth.is_file()
    copy = tmp_path / "regauth.service"
    copy.write_text(text.replace(EXEC_START, f"ExecStart={regauth} serve"))
    done = subprocess.run(
        [analyze, "verify", str(copy)], capture_output=True, text=True, timeout=60, check=False
    )
    # verify exits 0 with warnings (an unknown or misspelt directive): none may be printed.
    assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


def test_the_unit_runs_unprivileged_hardened_and_reloads_with_hup() -> None:
    service = _service()
    assert service["User"] == "regauth" and service["User"] != "root"
    assert service["ExecReload"] == "/bin/kill -HUP $MAINPID"
    assert service["KillSignal"] == "SIGTERM"
    for key, value in {
        "NoNewPrivileges": "yes",
        "ProtectSystem": "strict",
        "ReadWritePaths": "/var/lib/regauth",
        "StateDirectory": "regauth",
        "PrivateTmp": "yes",
        "ProtectHome": "yes",
        "CapabilityBoundingSet": "",
    }.items():
        assert service[key] == value, key
    assert service["Environment"] == "REGAUTH_CONFIG=/etc/regauth/regauth.toml"
