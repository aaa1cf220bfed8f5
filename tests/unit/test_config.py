"""Configuration: defaults, TOML, REGAUTH_* overrides, and errors that name the key."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest

from regauth.config import Config, Reload, load_config, reload_config
from regauth.errors import ConfigError


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "regauth.toml"
    path.write_text(text)
    return path


def test_no_config_gives_working_defaults() -> None:
    config = load_config(None, {})
    assert config == Config()
    assert config.realm == "http://localhost:5001/token"
    assert config.default_service == "registry"
    assert config.worker_count >= 1


def test_toml_values_and_env_overrides(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[server]\nlisten = "0.0.0.0:8080"\nworkers = 2\n'
        '[token]\nservice = ["a", "b"]\nttl_seconds = 600\n[keys]\nalgorithm = "RS256"\n',
    )
    config = load_config(
        path,
        {
            "REGAUTH_SERVER_WORKERS": "3",
            "REGAUTH_TOKEN_SERVICE": "x, y",
            "REGAUTH_KEYS_X5C": "false",
            "REGAUTH_SERVER_TRUSTED_PROXIES": "10.0.0.0/8,192.168.1.1",
            "HOME": "/root",
        },
    )
    assert config.listen_host == "0.0.0.0"
    assert config.listen_port == 8080
    assert config.server.workers == 3
    assert config.token.service == ("x", "y")
    assert config.token.ttl_seconds == 600
    assert config.keys.algorithm == "RS256"
    assert config.keys.x5c is False
    assert config.server.trusted_proxies == ("10.0.0.0/8", "192.168.1.1")


@pytest.mark.parametrize(
    ("toml", "env", "message"),
    [
        ("[server]\nlisen = 'x'\n", {}, "unknown config key: server.lisen"),
        ("[sever]\n", {}, "unknown config section: [sever]"),
        (
            "",
            {"REGAUTH_SERVER_LISEN": "x"},
            "unknown config environment variable: REGAUTH_SERVER_LISEN",
        ),
        ("[server]\nworkers = 'two'\n", {}, "server.workers: expected an integer"),
        ("", {"REGAUTH_SERVER_WORKERS": "two"}, "server.workers: expected a number"),
        ("[keys]\nalgorithm = 'HS256'\n", {}, "keys.algorithm: must be one of"),
        ("[token]\nttl_seconds = 10\n", {}, "token.ttl_seconds: must be between 60 and 86400"),
        ("[server]\nlisten = 'nowhere'\n", {}, "server.listen: expected HOST:PORT"),
        ("[server]\ntrusted_proxies = ['not-an-ip']\n", {}, "server.trusted_proxies"),
        ("", {"REGAUTH_KEYS_X5C": "maybe"}, "keys.x5c: expected true or false"),
        ("[token]\nservice = []\n", {}, "token.service"),
        ("[server\n", {}, "is not valid TOML"),
        ("[server]\nheader_timeout_seconds = 0\n", {}, "server.header_timeout_seconds: must be"),
        ("", {"REGAUTH_SERVER_BODY_TIMEOUT_SECONDS": "-1"}, "server.body_timeout_seconds"),
        # milliseconds where seconds are meant
        ("[server]\nbody_timeout_seconds = 30000\n", {}, "at most 3600"),
        ("[server]\nkeepalive_timeout_seconds = 75000000\n", {}, "at most 86400"),
        ("[server]\nmax_connections = 0\n", {}, "server.max_connections: must be at least 1"),
        ("[server]\nmax_connections = 1.5\n", {}, "server.max_connections: expected an integer"),
        ("[limits]\ndefault_expiry = '30'\n", {}, "limits.default_expiry: expected 'never' or"),
        ("", {"REGAUTH_LIMITS_MAX_EXPIRY": "0d"}, "limits.max_expiry: expected 'never' or"),
        (
            "[limits]\ndefault_expiry = '90d'\nmax_expiry = '30d'\n",
            {},
            "limits.default_expiry: must be at most the longest expiry allowed (30d)",
        ),
    ],
)
def test_bad_config_stops_with_a_message_naming_the_key(
    tmp_path: Path, toml: str, env: dict[str, str], message: str
) -> None:
    with pytest.raises(ConfigError) as info:
        load_config(write(tmp_path, toml), env)
    assert message in info.value.message


def test_missing_file_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_config(tmp_path / "nope.toml", {})


def test_example_config_lists_every_key() -> None:
    example = Path(__file__).parents[2] / "config" / "regauth.example.toml"
    config = load_config(example, {})
    # The example documents the defaults; its relative paths are relative to itself.
    here = example.parent
    assert config.storage.path == str(here / Config().storage.path)
    assert config.keys.dir == str(here / Config().keys.dir)
    assert dataclasses.replace(config, storage=Config().storage, keys=Config().keys) == Config()
    text = example.read_text()
    for section, cls in Config.__dataclass_fields__.items():
        for key in cls.default_factory().__dataclass_fields__:  # type: ignore[misc]
            assert f"\n{key} =" in text or f"\n# {key} =" in text, f"{section}.{key} missing"


def test_a_reload_takes_the_live_keys_and_keeps_the_restart_only_ones() -> None:
    old = load_config(None, {})
    new = load_config(
        None,
        {
            "REGAUTH_LOG_LEVEL": "debug",
            "REGAUTH_LIMITS_FAILURES_PER_IP": "7",
            "REGAUTH_TOKEN_TTL_SECONDS": "600",
            "REGAUTH_SERVER_TRUSTED_PROXIES": "10.0.0.1",
            "REGAUTH_WEB_REGISTRY_HOST": "registry.example:443",
            "REGAUTH_SERVER_LISTEN": "0.0.0.0:9000",
            "REGAUTH_SERVER_WORKERS": "7",
            "REGAUTH_STORAGE_PATH": "/elsewhere.db",
            "REGAUTH_KEYS_DIR": "/elsewhere",
            "REGAUTH_METRICS_LISTEN": "127.0.0.1:9100",
        },
    )
    outcome = reload_config(old, new)
    assert outcome.changed == [
        "server.trusted_proxies",
        "token.ttl_seconds",
        "limits.failures_per_ip",
        "web.registry_host",
        "log.level",
    ]
    assert outcome.restart_needed == [
        "server.listen",
        "server.workers",
        "storage.path",
        "keys.dir",
        "metrics.listen",
    ]
    applied = outcome.config
    assert (applied.log.level, applied.limits.failures_per_ip, applied.token.ttl_seconds) == (
        "debug",
        7,
        600,
    )
    assert applied.server.trusted_proxies == ("10.0.0.1",)
    assert applied.server.listen == old.server.listen
    assert applied.server.workers == old.server.workers
    assert applied.storage == old.storage and applied.keys == old.keys


def test_an_unchanged_reload_changes_nothing() -> None:
    config = load_config(None, {})
    assert reload_config(config, load_config(None, {})) == Reload(config, [], [])


def test_relative_paths_in_a_file_are_relative_to_the_file(tmp_path: Path) -> None:
    path = write(
        tmp_path,
        '[storage]\npath = "data/regauth.db"\npassword_file = "pg.secret"\n'
        '[keys]\ndir = "/abs/keys"\n',
    )
    config = load_config(path, {})
    assert config.storage.path == str(tmp_path / "data" / "regauth.db")
    assert config.storage.password_file == str(tmp_path / "pg.secret")
    assert config.keys.dir == "/abs/keys"
    # From the environment, as on a command line: relative to the current directory.
    assert load_config(path, {"REGAUTH_STORAGE_PATH": "x.db"}).storage.path == "x.db"
