"""Fixtures shared by the unit, service and HTTP tests."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from regauth.config import Config
from regauth.runtime import Runtime, open_runtime
from tests.support.builders import make_config
from tests.support.clock import FakeClock


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def config(tmp_path: Path) -> Config:
    return make_config(tmp_path, server={"access_log": False})


@pytest.fixture
def runtime(config: Config, clock: FakeClock) -> Iterator[Runtime]:
    rt = open_runtime(config, clock=clock)
    yield rt
    rt.close()
