"""[notifications], [audit] and limits.deactivate_unused_after: validated at load, with messages
that name the key (and never echo a URL, which may hold credentials)."""

from __future__ import annotations

from pathlib import Path

import pytest

from regauth.config import load_config, reload_config
from regauth.errors import ConfigError


def test_the_defaults_turn_every_policy_off() -> None:
    config = load_config(None, {})
    assert config.notifications.webhook_url == ""
    assert config.audit.export == ""
    assert config.limits.deactivate_unused_after == "never"


@pytest.mark.parametrize(
    ("environ", "message"),
    [
        (
            {"REGAUTH_NOTIFICATIONS_WEBHOOK_URL": "ftp://user:hunter2@example.com/"},
            "notifications.webhook_url: must be an http:// or https:// URL$",
        ),
        (
            {"REGAUTH_NOTIFICATIONS_WEBHOOK_URL": "https://hooks.example.com/regauth"},
            "notifications.webhook_secret_file: required with webhook_url",
        ),
        ({"REGAUTH_NOTIFICATIONS_EXPIRING_DAYS": "0"}, "notifications.expiring_days"),
        ({"REGAUTH_NOTIFICATIONS_MAX_ATTEMPTS": "101"}, "notifications.max_attempts"),
        ({"REGAUTH_NOTIFICATIONS_TIMEOUT_SECONDS": "0"}, "notifications.timeout_seconds"),
        ({"REGAUTH_AUDIT_EXPORT": "file:relative/audit.jsonl"}, "audit.export: must be"),
        ({"REGAUTH_AUDIT_EXPORT": "syslog"}, "audit.export: must be"),
        ({"REGAUTH_LIMITS_DEACTIVATE_UNUSED_AFTER": "90"}, "limits.deactivate_unused_after"),
    ],
)
def test_a_bad_value_is_refused_naming_its_key(environ: dict[str, str], message: str) -> None:
    with pytest.raises(ConfigError, match=message) as refused:
        load_config(None, environ)
    assert "hunter2" not in refused.value.message


def test_good_values_load(tmp_path: Path) -> None:
    config = load_config(
        None,
        {
            "REGAUTH_NOTIFICATIONS_WEBHOOK_URL": "https://hooks.example.com/regauth",
            "REGAUTH_NOTIFICATIONS_WEBHOOK_SECRET_FILE": str(tmp_path / "key"),
            "REGAUTH_AUDIT_EXPORT": f"file:{tmp_path}/audit.jsonl",
            "REGAUTH_LIMITS_DEACTIVATE_UNUSED_AFTER": "90d",
        },
    )
    assert config.notifications.webhook_secret_file == str(tmp_path / "key")
    assert config.audit.export == f"file:{tmp_path}/audit.jsonl"
    assert config.limits.deactivate_unused_after == "90d"


def test_the_secret_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "regauth.toml"
    path.write_text(
        '[notifications]\nwebhook_url = "https://hooks.example.com/x"\n'
        'webhook_secret_file = "webhook.key"\n'
    )
    assert load_config(path, {}).notifications.webhook_secret_file == str(tmp_path / "webhook.key")


def test_every_new_key_takes_effect_on_reload() -> None:
    old = load_config(None, {})
    new = load_config(
        None,
        {
            "REGAUTH_NOTIFICATIONS_WEBHOOK_URL": "https://hooks.example.com/regauth",
            "REGAUTH_NOTIFICATIONS_WEBHOOK_SECRET_FILE": "/etc/regauth/webhook.key",
            "REGAUTH_AUDIT_EXPORT": "stdout",
            "REGAUTH_LIMITS_DEACTIVATE_UNUSED_AFTER": "30d",
        },
    )
    reloaded = reload_config(old, new)
    assert reloaded.restart_needed == []
    assert reloaded.config == new
