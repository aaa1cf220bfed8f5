"""scripts/run says what it does and installs the project again only when pyproject.toml
changed (a restart cost 8.7 s of pip when it reinstalled every time)."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

SCRIPT = Path(__file__).parents[2] / "scripts" / "run"


def _checkout(tmp_path: Path) -> Path:
    """A checkout with scripts/run and a .venv whose pip and regauth only record their calls."""
    root = tmp_path / "checkout"
    (root / "scripts").mkdir(parents=True)
    shutil.copy(SCRIPT, root / "scripts" / "run")
    (root / "pyproject.toml").write_text('[project]\nname = "regauth"\n')
    bin_dir = root / ".venv" / "bin"
    bin_dir.mkdir(parents=True)
    for name in ("python", "pip", "regauth"):
        program = bin_dir / name
        program.write_text(f'#!/bin/sh\necho "{name} $*" >> "$(dirname "$0")/../calls"\n')
        program.chmod(0o755)
    return root


def _run(root: Path, **env: str) -> tuple[list[str], str]:
    calls = root / ".venv" / "calls"
    calls.unlink(missing_ok=True)
    done = subprocess.run(
        [str(root / "scripts" / "run"), "--config", "x.toml"],
        env={"PATH": os.environ["PATH"], **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return calls.read_text().splitlines(), done.stderr


def test_it_installs_once_and_again_only_when_pyproject_changes(tmp_path: Path) -> None:
    root = _checkout(tmp_path)
    calls, said = _run(root)
    assert calls == [
        "pip install --quiet --upgrade pip",
        "pip install --quiet -e .[fast]",
        "regauth --config x.toml serve",
    ]
    assert "scripts/run: installing regauth and its dependencies into .venv" in said
    assert f"scripts/run: starting: .venv/bin/regauth --config x.toml serve (in {root}" in said

    calls, said = _run(root)
    assert calls == ["regauth --config x.toml serve"]
    assert "pyproject.toml is unchanged: not reinstalling" in said

    (root / "pyproject.toml").write_text('[project]\nname = "regauth"\nversion = "2"\n')
    assert len(_run(root)[0]) == 3
    assert len(_run(root)[0]) == 1
    assert len(_run(root, SCRIPTS_RUN_REINSTALL="1")[0]) == 3
