"""[ldap]: off by default, checked at load (each error names its key), paths relative to the
config file, REGAUTH_LDAP_* overrides."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from regauth.config import LdapConfig, load_config
from regauth.errors import ConfigError

VALID = 'url = "ldaps://dc1.example.com:636"\nuser_base = "dc=example,dc=com"\n'


def load(tmp_path: Path, section: str, environ: dict[str, str] | None = None) -> LdapConfig:
    path = tmp_path / "regauth.toml"
    path.write_text(f"[ldap]\n{section}")
    return load_config(path, environ or {}).ldap


def test_off_by_default() -> None:
    config = load_config(None, {}).ldap
    assert config == LdapConfig()
    assert config.url == ""
    assert (config.user_filter, config.id_attribute, config.timeout_seconds) == (
        "(uid={username})",
        "entryUUID",
        5,
    )


def test_a_directory_with_its_files_relative_to_the_config(tmp_path: Path) -> None:
    config = load(
        tmp_path,
        VALID + 'ca_file = "ca.pem"\nbind_dn = "cn=svc"\nbind_password_file = "/run/secret"\n',
        {"REGAUTH_LDAP_USE_MEMBER_OF": "true", "REGAUTH_LDAP_TIMEOUT_SECONDS": "3"},
    )
    assert config.ca_file == str(tmp_path / "ca.pem")
    assert config.bind_password_file == "/run/secret"
    assert config.use_member_of is True
    assert config.timeout_seconds == 3


@pytest.mark.parametrize(
    ("section", "message"),
    [
        ('url = "http://dc1:389"\nuser_base = "o=x"\n', "ldap.url: must be ldaps://"),
        ('url = "ldap://"\nuser_base = "o=x"\n', "ldap.url: must be ldaps://"),
        ('url = "ldap://dc1:port"\nuser_base = "o=x"\n', "ldap.url: must be ldaps://"),
        ('url = "ldap://dc1/o=x??sub"\nuser_base = "o=x"\n', "ldap.url: must be ldaps://"),
        ('url = "ldap://dc1"\nstart_tls = false\nuser_base = "o=x"\n', "ldap.start_tls: an ldap://"),
        ('url = "ldaps://dc1"\n', "ldap.user_base: required"),
        (VALID + 'user_filter = "(uid=alice)"\n', "ldap.user_filter: must be a (filter) holding"),
        (VALID + 'user_filter = "uid={username}"\n', "ldap.user_filter: must be a (filter)"),
        (VALID + 'group_filter = "(member=x)"\n', "ldap.group_filter: must be a (filter) holding {dn}"),
        (VALID + 'bind_dn = "cn=svc"\n', "ldap.bind_password_file: required"),
        (VALID + 'id_attribute = ""\n', "ldap.id_attribute: must not be empty"),
        (VALID + "timeout_seconds = 0\n", "ldap.timeout_seconds: must be more than 0"),
        (VALID + "timeout_seconds = 600\n", "ldap.timeout_seconds: must be more than 0"),
        (VALID + 'start_tsl = true\n', "unknown config key: ldap.start_tsl"),
    ],
)  # fmt: skip
def test_a_bad_value_names_its_key(tmp_path: Path, section: str, message: str) -> None:
    with pytest.raises(ConfigError, match=re.escape(message)):
        load(tmp_path, section)


def test_plain_ldap_is_allowed_to_this_machine_only(tmp_path: Path) -> None:
    for host in ("127.0.0.1:389", "localhost", "[::1]:389"):
        config = load(tmp_path, f'url = "ldap://{host}"\nstart_tls = false\nuser_base = "o=x"\n')
        assert config.start_tls is False
