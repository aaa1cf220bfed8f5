"""`[metrics]`: on by default on the main listener; a listener of its own must be HOST:PORT
and another address than the main one."""

from __future__ import annotations

import pytest

from regauth.config import load_config
from regauth.errors import ConfigError


def test_metrics_are_on_and_share_the_main_listener_by_default() -> None:
    config = load_config(None, {})
    assert config.metrics.enabled and config.metrics.listen == ""


@pytest.mark.parametrize(
    ("listen", "error"),
    [
        ("9464", "metrics.listen: expected HOST:PORT or empty"),
        ("127.0.0.1:0", "metrics.listen: expected HOST:PORT or empty"),
        ("127.0.0.1:5001", "metrics.listen: must differ from server.listen"),
    ],
)
def test_a_metrics_listener_must_be_an_address_of_its_own(listen: str, error: str) -> None:
    with pytest.raises(ConfigError, match=error):
        load_config(None, {"REGAUTH_METRICS_LISTEN": listen})


def test_metrics_can_be_turned_off_and_moved() -> None:
    config = load_config(
        None, {"REGAUTH_METRICS_ENABLED": "false", "REGAUTH_METRICS_LISTEN": "127.0.0.1:9464"}
    )
    assert not config.metrics.enabled and config.metrics.listen == "127.0.0.1:9464"
