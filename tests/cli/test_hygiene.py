"""`regauth token regenerate|stale`, `token list --expiring` and `regauth notification ...`, as
an operator runs them, over the services the admin API uses."""

from __future__ import annotations

import json

import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.domain.credentials import Credentials
from regauth.domain.hygiene import CREDENTIAL_LEAKED_REVOKED, Notification
from regauth.domain.tokens import parse_token
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from tests.cli.conftest import Cli
from tests.support.secrets import remember

DAY = 86400


@pytest.fixture
def owners(cli: Cli) -> Cli:
    cli.ok("user", "add", "alice")
    cli.ok("user", "add", "bob")
    return cli


def secret_of(cli: Cli, user: str, *options: str) -> str:
    argv = ["token", "create", "--user", user, "--description", "ci", "--access", "read"]
    return remember(cli.ok(*argv, *options).out.strip())


async def accepted(runtime: Runtime, secret: str) -> bool:
    try:
        await runtime.authenticator.authenticate(Credentials("alice", secret))
    except Unauthorized:
        return False
    return True


async def test_regenerate_prints_the_new_secret_and_the_old_one_stops(
    owners: Cli, runtime: Runtime
) -> None:
    old = secret_of(owners, "alice", "--expires", "30d")
    public_id = parse_token(old).public_id

    result = owners.ok("token", "regenerate", public_id)

    new = remember(result.out.strip())
    assert parse_token(new).public_id == public_id and new != old
    assert "has a new secret" in result.err and "stops working now" in result.err
    assert not await accepted(runtime, old)
    assert await accepted(runtime, new)
    shown = owners.ok("token", "show", public_id, "--json").json()
    assert (shown["description"], shown["access"]) == ("ci", "read")
    assert shown["expires_at"] == "2027-02-14T08:00:00Z"  # kept
    (event,) = owners.audit("token.regenerate")
    assert event["target"] == public_id and event["details"]["grace"] == "0"


async def test_regenerate_with_a_grace_period_and_json(owners: Cli, runtime: Runtime) -> None:
    old = secret_of(owners, "alice")
    result = owners.ok("token", "regenerate", old, "--grace", "2h", "--json")  # the whole token
    body = result.json()
    remember(body["token"])
    assert body["id"] == parse_token(old).public_id
    assert body["previous_token_valid_until"] == "2027-01-15T10:00:00Z"
    assert await accepted(runtime, old)
    owners.clock.advance(2 * 3600)
    assert not await accepted(runtime, old)


@pytest.mark.parametrize("grace", ["8d", "1 hour", "90"])
def test_a_bad_grace_is_a_usage_error(owners: Cli, grace: str) -> None:
    public_id = parse_token(secret_of(owners, "alice")).public_id
    result = owners("token", "regenerate", public_id, "--grace", grace)
    assert result.code == EXIT_USAGE and "--grace" in result.err


def test_regenerate_of_an_unknown_token_is_refused(owners: Cli) -> None:
    result = owners("token", "regenerate", "0000000000")
    assert (result.code, result.err) == (EXIT_ERROR, "regauth: no such token: '0000000000'\n")


def test_list_expiring_names_the_active_tokens_expiring_that_soon(owners: Cli) -> None:
    soon = parse_token(secret_of(owners, "alice", "--expires", "3d")).public_id
    secret_of(owners, "alice", "--expires", "30d")
    secret_of(owners, "bob")
    listed = owners.ok("token", "list", "--expiring", "7d", "--json").json()
    assert [t["id"] for t in listed] == [soon]
    assert owners.ok("token", "list", "--expiring", "2d", "--json").json() == []
    bad = owners("token", "list", "--expiring", "week")
    assert bad.code == EXIT_USAGE and "SPAN must be a number with a unit" in bad.err


def test_stale_reports_what_nobody_used_for_that_long(owners: Cli) -> None:
    forgotten = parse_token(secret_of(owners, "alice")).public_id
    owners.clock.advance(61 * DAY)
    secret_of(owners, "bob")

    table = owners.ok("token", "stale", "--unused", "60d").out.splitlines()
    assert table[0].split() == [
        "KIND", "ID", "OWNER", "DESCRIPTION", "ACTIVE", "LAST_USED_AT", "CREATED_AT",
    ]  # fmt: skip
    assert [line.split()[:3] for line in table[1:]] == [["personal", forgotten, "alice"]]
    as_json = owners.ok("token", "stale", "--unused", "60d", "--json").json()
    assert [(t["id"], t["last_used_at"]) for t in as_json] == [(forgotten, None)]
    assert owners.ok("token", "stale", "--json").json() == []  # 90 days by default
    assert owners("token", "stale", "--unused", "-1d").code == EXIT_USAGE


def _kept(runtime: Runtime, name: str) -> str:
    now = int(runtime.clock())
    notification = Notification(
        id=f"{name}-0000-4000-8000-000000000000",
        event=CREDENTIAL_LEAKED_REVOKED,
        dedup_key=name,
        payload=json.dumps({"token": {"kind": "personal", "id": name}}),
        created_at=now,
        next_attempt_at=now,
        attempts=0,
        delivered_at=None,
        failed_at=None,
        last_status=None,
        last_error=None,
    )
    assert runtime.store.add_notification(notification)
    return notification.id


def test_notifications_are_listed_shown_and_retried(cli: Cli, runtime: Runtime) -> None:
    first = _kept(runtime, "aaaaaaaa")
    failed = _kept(runtime, "bbbbbbbb")
    runtime.store.finish_notification(
        failed,
        now=int(runtime.clock()),
        delivered=False,
        status=502,
        error="HTTP 502",
        retry_at=None,
    )

    table = cli.ok("notification", "list").out.splitlines()
    assert table[0].split()[:3] == ["ID", "EVENT", "STATE"]
    assert {line.split()[0] for line in table[1:]} == {first, failed}
    only_failed = cli.ok("notification", "list", "--state", "failed", "--json").json()
    assert [(n["id"], n["last_status"], n["last_error"]) for n in only_failed] == [
        (failed, 502, "HTTP 502")
    ]
    fields = cli.ok("notification", "show", failed).fields()
    assert (fields["state"], fields["attempts"]) == ("failed", "0")

    assert cli.ok("notification", "retry", failed).out == (
        f"notification {failed} (credential.leaked_revoked) is due again\n"
    )
    assert cli.ok("notification", "show", failed, "--json").json()["state"] == "pending"
    (event,) = cli.audit("notification.retry")
    assert event["target"] == failed
    missing = cli("notification", "show", "nope")
    assert (missing.code, missing.err) == (EXIT_ERROR, "regauth: no such notification: 'nope'\n")
    assert cli("notification", "list", "--state", "lost").code == EXIT_USAGE
