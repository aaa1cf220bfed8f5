"""Fixtures shared by the unit, service and HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.runtime import Runtime, open_runtime
from tests.support.builders import make_config
from tests.support.clock import FakeClock

# Checks, at the end of the session, that nothing logged holds a credential.
pytest_plugins = ["tests.support.log_check"]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    # The access log on (the default), so the session's log check sees every request's line.
    return make_config(tmp_path)


@pytest.fixture
def runtime(config: Config, clock: FakeClock) -> Iterator[Runtime]:
    rt = open_runtime(config, clock=clock)
    yield rt
    rt.close()
