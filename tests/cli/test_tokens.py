"""`regauth token ...`: listing across users with filters, show, (de)activate, rename, delete."""

from __future__ import annotations

import json
import uuid

import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.domain.models import AccessLevel, TokenUse
from regauth.domain.timefmt import rfc3339
from regauth.runtime import Runtime
from regauth.services.usage import UsageRecorder
from tests.cli.conftest import Cli
from tests.support.builders import add_unchecked_token

DAY = 86400


@pytest.fixture
def owners(cli: Cli) -> Cli:
    cli.ok("user", "add", "alice")
    cli.ok("user", "add", "bob")
    return cli


def ids(cli: Cli, *filters: str) -> list[str]:
    return [t["id"] for t in cli.ok("token", "list", *filters, "--json").json()]


def add_auto_token(runtime: Runtime, owner: str) -> str:
    """What a password sign-in leaves behind; arranged in the store, as the CLI cannot make one."""
    record = runtime.store.create_token(
        token_id="AutoToken1",
        uuid=str(uuid.uuid4()),
        owner_id=runtime.users.get(owner).id,
        description="auto-generated: docker sign-in",
        access=AccessLevel.DELETE,
        secret_hash=b"\0" * 32,
        expires_at=None,
        created_ip=None,
        created_user_agent=None,
        now=int(runtime.clock()),
        generated_by="auto",
    )
    return record.id


def test_list_across_users_with_filters(owners: Cli, runtime: Runtime) -> None:
    cli, clock = owners, owners.clock
    a1 = cli.create_token("alice", description="laptop")
    clock.advance(60)
    a2 = cli.ok(
        "token", "create", "--user", "alice", "--description", "ci", "--access", "read",
        "--expires", "1d", "--json",
    ).json()["id"]  # fmt: skip
    clock.advance(60)
    b1 = cli.create_token("bob")
    clock.advance(60)
    b2 = add_auto_token(runtime, "bob")
    cli.ok("token", "deactivate", a1)

    assert ids(cli) == [b2, b1, a2, a1]  # newest first
    assert ids(cli, "--user", "bob") == [b2, b1]
    assert ids(cli, "--kind", "auto") == [b2]
    assert ids(cli, "--kind", "manual", "--user", "alice") == [a2, a1]
    assert ids(cli, "--state", "inactive") == [a1]
    assert ids(cli, "--state", "active") == [b2, b1, a2]
    assert ids(cli, "--limit", "2") == [b2, b1]
    clock.advance(2 * DAY)
    assert ids(cli, "--state", "expired") == [a2]
    assert ids(cli, "--state", "active") == [b2, b1]
    unknown = cli("token", "list", "--user", "nobody")
    assert (unknown.code, unknown.err.strip()) == (EXIT_ERROR, "regauth: no such user: 'nobody'")

    listed = cli.ok("token", "list", "--user", "alice", "--json").json()
    assert [(t["description"], t["access"], t["state"]) for t in listed] == [
        ("ci", "read", "expired"),
        ("laptop", "write", "inactive"),
    ]
    table = cli.ok("token", "list", "--user", "alice").out.splitlines()
    assert table[0].split() == [
        "ID", "USER", "DESCRIPTION", "ACCESS", "STATE", "GENERATED_BY",
        "CREATED_AT", "LAST_USED_AT", "EXPIRES_AT",
    ]  # fmt: skip
    assert table[1].split() == [
        a2, "alice", "ci", "read", "expired", "manual",
        "2027-01-15T08:01:00Z", "-", "2027-01-16T08:01:00Z",
    ]  # fmt: skip


def test_list_by_last_use(owners: Cli, runtime: Runtime) -> None:
    cli, now = owners, int(owners.clock())
    old, recent, never = (cli.create_token("alice", description=d) for d in ("old", "new", "x"))
    usage = UsageRecorder(runtime.store)  # how /token records last use
    usage.record(old, TokenUse(at=now - 10 * DAY, ip="192.0.2.1", user_agent="docker/27"))
    usage.record(recent, TokenUse(at=now - DAY, ip="192.0.2.2", user_agent="podman/5"))
    usage.flush()

    # "Unused since" includes the never used: what a clean-up is after.
    assert set(ids(cli, "--last-used-before", "5d")) == {old, never}
    assert ids(cli, "--last-used-after", "5d") == [recent]
    assert set(ids(cli, "--last-used-before", "0d")) == {old, recent, never}
    # 2027-01-15T08:00:00Z is now: a date means midnight UTC, a time is exact.
    assert ids(cli, "--last-used-after", "2027-01-13") == [recent]
    assert ids(cli, "--last-used-after", "2027-01-14T08:00:01Z") == []
    assert ids(cli, "--last-used-after", "2027-01-14T09:00:00+01:00") == [recent]
    assert ids(cli, "--last-used-after", "2027-01-01", "--last-used-before", "2027-01-10") == [old]

    shown = cli.ok("token", "show", recent, "--json").json()
    assert shown["last_used_at"] == "2027-01-14T08:00:00Z"
    assert (shown["last_used_ip"], shown["last_used_user_agent"]) == ("192.0.2.2", "podman/5")


def test_show_token(owners: Cli) -> None:
    created = owners.ok(
        "token", "create", "--user", "alice", "--description", "laptop", "--access", "delete",
        "--json",
    ).json()  # fmt: skip
    shown = owners.ok("token", "show", created["id"], "--json").json()
    assert shown == {k: v for k, v in created.items() if k != "token"}
    assert shown == owners.ok("token", "list", "--json").json()[0]
    # A whole token (say, one found leaked) is taken too, and cut down to its public id.
    assert owners.ok("token", "show", created["token"], "--json").json() == shown
    fields = owners.ok("token", "show", created["id"]).fields()
    assert fields["id"] == created["id"] and fields["user"] == "alice"
    assert fields["access"] == "delete" and fields["state"] == "active"
    assert fields["expires_at"] == "-" and fields["created_ip"] == "-"


def test_deactivate_and_activate(owners: Cli) -> None:
    token_id = owners.create_token("alice")
    result = owners.ok("token", "deactivate", token_id)
    assert result.out.strip() == f"token {token_id} of alice is inactive"
    assert owners.ok("token", "show", token_id, "--json").json()["state"] == "inactive"
    [event] = owners.audit("token.deactivate")
    assert (event["actor"], event["actor_kind"], event["target"]) == ("cli", "cli", token_id)
    assert event["details"] == {"owner": "alice"}

    assert owners.ok("token", "activate", token_id).out.strip() == (
        f"token {token_id} of alice is active"
    )
    assert owners.ok("token", "show", token_id, "--json").json()["state"] == "active"
    assert owners.audit("token.activate")[0]["target"] == token_id


def test_rename(owners: Cli) -> None:
    token_id = owners.create_token("alice", description="laptop")
    result = owners.ok("token", "rename", token_id, "old laptop")
    assert result.out.strip() == f"token {token_id} of alice is now 'old laptop'"
    assert owners.ok("token", "show", token_id, "--json").json()["description"] == "old laptop"
    assert owners.audit("token.rename")[0]["target"] == token_id
    refused = owners("token", "rename", token_id, "  ")
    assert refused.code == EXIT_ERROR and "description must be" in refused.err


def test_delete(owners: Cli) -> None:
    token_id = owners.create_token("alice")
    assert owners.ok("token", "delete", token_id).out.strip() == (
        f"deleted token {token_id} of alice"
    )
    assert ids(owners) == []
    gone = owners("token", "show", token_id)
    assert gone.code == EXIT_ERROR and f"no such token: {token_id!r}" in gone.err
    [event] = owners.audit("token.delete")
    assert (event["actor"], event["target"], event["details"]) == (
        "cli",
        token_id,
        {"owner": "alice"},
    )


@pytest.mark.parametrize(
    "argv",
    [
        ["token", "show", "NoSuchTok1"],
        ["token", "deactivate", "NoSuchTok1"],
        ["token", "activate", "NoSuchTok1"],
        ["token", "rename", "NoSuchTok1", "new name"],
        ["token", "delete", "NoSuchTok1"],
    ],
)
def test_unknown_token_is_an_error(cli: Cli, argv: list[str]) -> None:
    result = cli(*argv)
    assert (result.code, result.out) == (EXIT_ERROR, "")
    assert "no such token: 'NoSuchTok1'" in result.err
    assert cli.ok("audit", "list", "--json").json() == []


def test_malformed_whole_token_is_an_error(cli: Cli) -> None:
    result = cli("token", "show", "rgp_notarealtoken")
    assert result.code == EXIT_ERROR and "malformed" in result.err
    assert "rgp_notarealtoken" not in result.err  # a secret-looking value is not echoed


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["--state", "revoked"], "invalid choice: 'revoked'"),
        (["--kind", "robot"], "invalid choice: 'robot'"),
        (["--last-used-before", "yesterday"], "invalid WHEN 'yesterday'"),
        (["--last-used-after", "2027-13-01"], "invalid WHEN '2027-13-01'"),
        (["--limit", "0"], "must be between 1 and 1000"),
        (["--limit", "many"], "not a number: 'many'"),
    ],
)
def test_bad_list_filters_are_usage_errors(cli: Cli, filters: list[str], message: str) -> None:
    result = cli("token", "list", *filters)
    assert result.code == EXIT_USAGE
    assert message in result.err


def test_create_without_expires_gets_limits_default_expiry(owners: Cli) -> None:
    owners.env["REGAUTH_LIMITS_DEFAULT_EXPIRY"] = "30d"
    argv = ["token", "create", "--user", "alice", "--description", "d", "--access", "read"]
    defaulted = owners.ok(*argv, "--json").json()
    never = owners.ok(*argv, "--expires", "none", "--json").json()
    assert defaulted["expires_at"] == rfc3339(int(owners.clock.now) + 30 * DAY)
    assert never["expires_at"] is None
    owners.env["REGAUTH_LIMITS_MAX_EXPIRY"] = "30d"
    refused = owners(*argv, "--expires", "31d")
    assert (refused.code, refused.err) == (
        EXIT_ERROR,
        "regauth: tokens must expire within 30 days (operator policy)\n",
    )


def test_stored_text_a_terminal_would_act_on_is_printed_escaped(
    owners: Cli, runtime: Runtime
) -> None:
    """A description from before they were checked, and a client's user agent (any client
    may send C1 controls and bidirectional overrides in UTF-8): never printed as they are."""
    record = add_unchecked_token(
        runtime,
        "alice",
        "ci\x1b]2;owned\x07\x1b[31m",  # retitle the window, then red
        "docker\u009b2J \u202eevil",
    )
    listed = owners.ok("token", "list").out
    shown = owners.ok("token", "show", record.id).out
    as_json = owners.ok("token", "show", record.id, "--json").out
    for out in (listed, shown, as_json):
        assert not any(c in out for c in "\x1b\x07\u009b\u202e"), out
    assert "ci\\x1b]2;owned\\x07\\x1b[31m" in listed
    fields = owners.ok("token", "show", record.id).fields()
    assert fields["created_user_agent"] == "docker\\x9b2J \\u202eevil"
    assert json.loads(as_json)["created_user_agent"] == "docker\u009b2J \u202eevil"
