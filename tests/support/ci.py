"""A test server that is missing: under CI=true a failure, elsewhere a skip that says why."""

from __future__ import annotations

import os
from typing import NoReturn

import pytest


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() == "true"


def missing(reason: str) -> NoReturn:
    """Stop the test that needs what `reason` names (say also how to get it)."""
    if in_ci():
        # In CI a missing server means the suite did not test what it claims to.
        pytest.fail(f"{reason}. CI=true, so this is a failure, not a skip.", pytrace=False)
    pytest.skip(f"{reason}. Run scripts/test (as root) to install it.")
