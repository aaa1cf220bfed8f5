"""`regauth audit list`: every CLI change is there, as actor `cli`, filterable by who, what, when."""

from __future__ import annotations

import pytest

from regauth.cli import EXIT_USAGE
from regauth.runtime import Runtime
from tests.cli.conftest import Cli

HOUR = 3600


@pytest.fixture
def history(cli: Cli, runtime: Runtime) -> Cli:
    """08:00 alice is created, 09:00 made public, 10:00 a failed sign-in, 11:00 bob."""
    cli.ok("user", "add", "alice")
    cli.clock.advance(HOUR)
    cli.ok("repo", "set-visibility", "alice/site", "public")
    cli.clock.advance(HOUR)
    # Failed sign-ins are counted by the server and written in a batch; two become one row.
    for _ in range(2):
        runtime.audit.failed_authentication("mallory", "192.0.2.9", "curl/8", "bad password")
    runtime.audit.flush()
    cli.clock.advance(HOUR)
    cli.ok("user", "add", "bob")
    return cli


def actions(cli: Cli, *filters: str) -> list[str]:
    return [e["action"] for e in cli.ok("audit", "list", *filters, "--json").json()]


def test_list_newest_first(history: Cli) -> None:
    events = history.ok("audit", "list", "--json").json()
    assert [(e["at"], e["actor"], e["action"], e["target"]) for e in events] == [
        ("2027-01-15T11:00:00Z", "cli", "user.create", "bob"),
        ("2027-01-15T10:00:00Z", "mallory", "auth.failed", "mallory"),
        ("2027-01-15T09:00:00Z", "cli", "repository.visibility", "alice/site"),
        ("2027-01-15T08:00:00Z", "cli", "user.create", "alice"),
    ]
    failed = events[1]
    assert (failed["count"], failed["ip"], failed["details"]) == (
        2,
        "192.0.2.9",
        {"reason": "bad password"},
    )
    assert events[0]["details"] == {"admin": False}


def test_filters(history: Cli) -> None:
    assert actions(history, "--actor", "mallory") == ["auth.failed"]
    assert actions(history, "--actor", "cli", "--action", "user.create") == [
        "user.create",
        "user.create",
    ]
    assert actions(
        history, "--since", "2027-01-15T09:00:00Z", "--until", "2027-01-15T10:00:00Z"
    ) == [
        "auth.failed",
        "repository.visibility",
    ]
    assert actions(history, "--since", "2027-01-16") == []
    assert actions(history, "--until", "1d") == []  # the clock is at 11:00 on the 15th
    assert actions(history, "--since", "1d") == actions(history)
    assert actions(history, "--limit", "1") == ["user.create"]
    assert actions(history, "--actor", "nobody") == []


def test_table(history: Cli) -> None:
    lines = history.ok("audit", "list", "--actor", "mallory").out.splitlines()
    assert lines[0].split() == ["AT", "ACTOR", "ACTION", "TARGET", "COUNT", "IP", "DETAILS"]
    assert lines[1].split() == [
        "2027-01-15T10:00:00Z",
        "mallory",
        "auth.failed",
        "mallory",
        "2",
        "192.0.2.9",
        '{"reason":"bad',
        'password"}',
    ]


@pytest.mark.parametrize(
    ("filters", "message"),
    [
        (["--since", "last week"], "invalid WHEN 'last week'"),
        (["--until", "2027-01-32"], "invalid WHEN '2027-01-32'"),
        (["--limit", "1001"], "must be between 1 and 1000"),
    ],
)
def test_bad_filters_are_usage_errors(cli: Cli, filters: list[str], message: str) -> None:
    result = cli("audit", "list", *filters)
    assert result.code == EXIT_USAGE and message in result.err
