"""LDAP sign-in against a real OpenLDAP (tests/support/ldap.py): the bind decides, the entry's
entryUUID links, groups come from a search or memberOf, filter syntax in a name finds nobody,
TLS is verified, and a directory that is down or hung is a 503 within the timeout."""

from __future__ import annotations

import subprocess
import time
import uuid
from pathlib import Path
from typing import Any

import pytest

from regauth.config import LdapConfig
from regauth.domain.identities import IdentitySource
from regauth.errors import ConfigError
from regauth.sso.ldap import Directory, DirectoryUnavailable, fill, identifier_text
from tests.support.ldap import CONTRACTORS, PEOPLE, SUFFIX, LdapServer, regauth_settings


def settings(server: LdapServer, **overrides: Any) -> LdapConfig:
    return LdapConfig(**regauth_settings(server, **overrides))


@pytest.fixture
def directory(ldap_server: LdapServer) -> Directory:
    return Directory(settings(ldap_server))


def test_the_right_password_gives_the_entry_as_an_identity(
    directory: Directory, ldap_server: LdapServer
) -> None:
    identity = directory.authenticate("alice", ldap_server.password("alice"))
    assert identity is not None
    assert identity.source is IdentitySource.LDAP
    assert identity.issuer == ""
    # Linked by what slapd made for the entry, never by the name.
    assert identity.subject == ldap_server.entry_uuid(f"uid=alice,{PEOPLE}")
    assert identity.username == "alice"
    assert identity.groups == ("developers", "platform")
    assert identity.display_name == "Alice Liddell"
    assert identity.email == "alice@example.test"


def test_the_name_is_the_directory_s_spelling(
    directory: Directory, ldap_server: LdapServer
) -> None:
    # uid matches without case in LDAP: the account is named as the entry spells it.
    identity = directory.authenticate("ALICE", ldap_server.password("alice"))
    assert identity is not None
    assert identity.username == "alice"


def test_a_wrong_password_or_an_unknown_person_is_none(
    directory: Directory, ldap_server: LdapServer
) -> None:
    assert directory.authenticate("alice", ldap_server.password("bob")) is None
    assert directory.authenticate("alice", ldap_server.password("alice") + "x") is None
    assert directory.authenticate("nobody", ldap_server.password("alice")) is None
    assert directory.authenticate("alice", "x" * 2000) is None


def test_the_test_server_lets_an_unauthenticated_bind_in(ldap_server: LdapServer) -> None:
    """What makes the next test worth having: a DN and an empty password is a success here."""
    whoami = subprocess.run(
        ["ldapwhoami", "-x", "-H", ldap_server.url, "-D", f"uid=alice,{PEOPLE}", "-w", ""],
        capture_output=True,
        text=True,
        check=False,
        env={"LDAPNOINIT": "1"},
    )
    assert whoami.returncode == 0, whoami.stderr
    assert whoami.stdout.strip() == "anonymous"


def test_an_empty_password_is_never_sent(directory: Directory) -> None:
    assert directory.authenticate("alice", "") is None


@pytest.mark.parametrize(
    "username",
    [
        "*",  # every entry
        "*)(uid=*",  # (uid=*)(uid=*): every entry
        "alice)(|(uid=*",  # (uid=alice)(|(uid=*)): alice or everyone
        "al*",  # a substring match of alice
        "alice\x00",  # a NUL: C servers may stop reading there
        "\x00",
        "ali\\63e",  # \63 is "c" in a filter: alice, if the backslash went through
        "alice\\",
        "(uid=alice)",
        "alice)(uid=bob",
        " alice",
        "alice\n",
        "",
    ],
)
def test_filter_syntax_in_a_name_finds_nobody(
    directory: Directory, ldap_server: LdapServer, username: str
) -> None:
    for person in ("alice", "bob"):
        assert directory.authenticate(username, ldap_server.password(person)) is None


@pytest.mark.parametrize(
    ("name", "escaped"),
    [
        ("*)(uid=*", r"(uid=\2a\29\28uid=\2a)"),
        ("alice)(|(uid=*", r"(uid=alice\29\28|\28uid=\2a)"),
        ("a\x00b", r"(uid=a\00b)"),
        ("ali\\63e", r"(uid=ali\5c63e)"),
    ],
)
def test_a_filled_filter_is_escaped_and_matches_nothing_on_the_server(
    ldap_server: LdapServer, name: str, escaped: str
) -> None:
    """The second line of defence (the name check being the first): the value is escaped,
    and the real server reads the escaped filter as the literal characters."""
    assert fill("(uid={username})", "{username}", name) == escaped
    assert ldap_server.search(escaped) == []
    assert len(ldap_server.search("(uid=*)")) > 2  # what an unescaped `*` would have found


def test_two_entries_with_the_name_are_refused(
    directory: Directory, ldap_server: LdapServer
) -> None:
    # dave is in ou=people and in ou=contractors: neither is picked.
    for dn in (f"uid=dave,{PEOPLE}", f"uid=dave,{CONTRACTORS}"):
        assert directory.authenticate("dave", ldap_server.passwords[dn]) is None
    # Under one unit only, the search finds one: the same password now signs in.
    narrowed = Directory(settings(ldap_server, user_base=CONTRACTORS))
    identity = narrowed.authenticate("dave", ldap_server.passwords[f"uid=dave,{CONTRACTORS}"])
    assert identity is not None
    assert identity.display_name == "Dave Contractor"


def test_groups_from_a_search_and_from_member_of(ldap_server: LdapServer) -> None:
    by_search = Directory(settings(ldap_server))
    by_member_of = Directory(settings(ldap_server, group_base="", use_member_of=True))
    none = Directory(settings(ldap_server, group_base=""))
    for directory in (by_search, by_member_of):
        for person, groups in (
            ("alice", ("developers", "platform")),
            ("bob", ("developers",)),
            ("carol", ()),
        ):
            identity = directory.authenticate(person, ldap_server.password(person))
            assert identity is not None
            assert identity.groups == groups, (person, directory.config)
    identity = none.authenticate("alice", ldap_server.password("alice"))
    assert identity is not None
    assert identity.groups == ()


def test_a_group_change_shows_at_the_next_sign_in(ldap_server: LdapServer) -> None:
    directories = [
        Directory(settings(ldap_server)),
        Directory(settings(ldap_server, group_base="", use_member_of=True)),
    ]
    try:
        ldap_server.add_member("platform", "carol")
        ldap_server.remove_member("developers", "bob")
        for directory in directories:
            carol = directory.authenticate("carol", ldap_server.password("carol"))
            bob = directory.authenticate("bob", ldap_server.password("bob"))
            assert carol is not None
            assert bob is not None
            assert (carol.groups, bob.groups) == (("platform",), ())
    finally:
        ldap_server.reset()


def test_a_changed_password_is_the_one_that_works(
    directory: Directory, ldap_server: LdapServer
) -> None:
    old = ldap_server.password("carol")
    try:
        ldap_server.change_password("carol", "carol-s-new-passphrase-1")
        assert directory.authenticate("carol", old) is None
        assert directory.authenticate("carol", "carol-s-new-passphrase-1") is not None
    finally:
        ldap_server.change_password("carol", old)


def test_the_other_attributes_can_be_configured(ldap_server: LdapServer) -> None:
    by_mail = Directory(
        settings(ldap_server, user_filter="(mail={username})", username_attribute="mail")
    )
    identity = by_mail.authenticate("bob@example.test", ldap_server.password("bob"))
    assert identity is not None
    assert identity.username == "bob@example.test"
    # No entry has employeeNumber: nothing stable to link an account to, so no sign-in.
    unlinked = Directory(settings(ldap_server, id_attribute="employeeNumber"))
    assert unlinked.authenticate("bob", ldap_server.password("bob")) is None


@pytest.mark.parametrize("scheme", ["starttls", "ldaps"])
def test_tls_with_the_directory_s_ca(ldap_server: LdapServer, scheme: str) -> None:
    url = ldap_server.url if scheme == "starttls" else ldap_server.ldaps_url
    directory = Directory(settings(ldap_server, url=url))
    assert directory.authenticate("bob", ldap_server.password("bob")) is not None


@pytest.mark.parametrize("scheme", ["starttls", "ldaps"])
def test_a_certificate_from_another_ca_is_refused(
    ldap_server: LdapServer, scheme: str, caplog: pytest.LogCaptureFixture
) -> None:
    url = ldap_server.url if scheme == "starttls" else ldap_server.ldaps_url
    other_ca = Directory(settings(ldap_server, url=url, ca_file=str(ldap_server.other_ca_file)))
    # The system's CAs never signed the test CA either.
    system_cas = Directory(settings(ldap_server, url=url, ca_file=""))
    for directory in (other_ca, system_cas):
        with pytest.raises(DirectoryUnavailable) as refused:
            directory.authenticate("bob", ldap_server.password("bob"))
        assert refused.value.status == 503
    assert {r.fields["reason"] for r in caplog.records if r.msg == "ldap_unavailable"} == {  # type: ignore[attr-defined]
        "SSLCertVerificationError"
    }
    # Only when told in so many words is the certificate not checked.
    unverified = Directory(
        settings(ldap_server, url=url, ca_file=str(ldap_server.other_ca_file), tls_verify=False)
    )
    assert unverified.authenticate("bob", ldap_server.password("bob")) is not None


def test_a_server_down_is_a_503_at_once(ldap_server: LdapServer) -> None:
    directory = Directory(settings(ldap_server))
    with ldap_server.down():
        started = time.monotonic()
        with pytest.raises(DirectoryUnavailable) as refused:
            directory.authenticate("alice", ldap_server.password("alice"))
        assert time.monotonic() - started < 1
    assert refused.value.status == 503
    assert refused.value.message == "the directory is unavailable: use a personal access token"
    # Back up: signing in works again, with nothing to reset.
    assert directory.authenticate("alice", ldap_server.password("alice")) is not None


def test_a_hung_server_is_a_503_within_the_timeout(ldap_server: LdapServer) -> None:
    for url in (ldap_server.url, ldap_server.ldaps_url):
        directory = Directory(settings(ldap_server, url=url, timeout_seconds=1))
        with ldap_server.frozen():
            started = time.monotonic()
            with pytest.raises(DirectoryUnavailable):
                directory.authenticate("alice", ldap_server.password("alice"))
            waited = time.monotonic() - started
        assert 0.9 < waited < 2.5, url


def test_a_refused_service_account_is_a_503(ldap_server: LdapServer, tmp_path: Path) -> None:
    wrong = tmp_path / "wrong-password"
    wrong.write_text("not-the-service-password\n")
    directory = Directory(settings(ldap_server, bind_password_file=str(wrong)))
    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("alice", ldap_server.password("alice"))
    # Anonymous searches may not see the tree on this server (its ACL answers noSuchObject):
    # regauth cannot look anyone up, which is not the same as a wrong password.
    anonymous = Directory(settings(ldap_server, bind_dn="", bind_password_file=""))
    with pytest.raises(DirectoryUnavailable):
        anonymous.authenticate("alice", ldap_server.password("alice"))


def test_a_search_base_that_does_not_exist_is_a_503(ldap_server: LdapServer) -> None:
    directory = Directory(settings(ldap_server, user_base=f"ou=nowhere,{SUFFIX}"))
    with pytest.raises(DirectoryUnavailable):
        directory.authenticate("alice", ldap_server.password("alice"))


def test_unreadable_files_stop_start_up(ldap_server: LdapServer, tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"ldap\.bind_password_file: cannot read"):
        Directory(settings(ldap_server, bind_password_file=str(tmp_path / "missing")))
    with pytest.raises(ConfigError, match=r"ldap\.ca_file: no such file"):
        Directory(settings(ldap_server, ca_file=str(tmp_path / "missing.pem")))


def test_active_directory_s_object_guid_is_shown_as_ad_shows_it() -> None:
    # objectGUID {3f2504e0-4f89-11d3-9a0c-0305e82c3301} as AD stores it (RFC 4122 order would
    # give e004253f-894f-d311-...).
    guid = uuid.UUID("3f2504e0-4f89-11d3-9a0c-0305e82c3301")
    assert identifier_text("objectGUID", guid.bytes_le) == str(guid)
    assert identifier_text("entryUUID", b"d96efa26-825f-1041-9061-6b53b356b0c2") == (
        "d96efa26-825f-1041-9061-6b53b356b0c2"
    )
