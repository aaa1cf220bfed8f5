"""Leaked-credential revocation on a real temp SQLite file: which reported credentials end, what
the owner sees in the audit trail, and what is ignored."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, Actor, AuditQuery
from regauth.domain.tokens import AccessToken, TokenKind, parse_token
from regauth.errors import Conflict, Unauthorized
from regauth.runtime import Runtime
from regauth.services.revocation import MAX_CREDENTIALS
from tests.support.builders import add_admin_key, add_org, add_token, add_user

REPORTER = Actor(name="anonymous", kind="anonymous", ip="203.0.113.4", user_agent="scanner/2")


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice", None)
    add_user(runtime, "bob", None)


def active(runtime: Runtime, token: str) -> bool:
    return runtime.tokens.get(parse_token(token).public_id).active


def forged(token: str) -> str:
    """The same kind and public id with another secret (and a checksum that fits it)."""
    parsed = parse_token(token)
    other = AccessToken.generate(parsed.kind)
    return str(AccessToken(parsed.kind, parsed.public_id, other.secret))


async def test_a_leaked_pat_is_deactivated_and_its_owner_is_told(runtime: Runtime) -> None:
    leaked, other = add_token(runtime, "alice"), add_token(runtime, "bob")
    assert runtime.revocation.revoke([leaked], REPORTER) == 1
    assert not active(runtime, leaked) and active(runtime, other)
    with pytest.raises(Unauthorized, match="personal access token is inactive"):
        await runtime.authenticator.authenticate(Credentials("alice", leaked))
    (event,) = runtime.audit.list(AuditQuery(action="token.revoked_leaked"))
    assert (event.actor, event.actor_kind, event.target) == (
        "revocation-api",
        "revocation",
        parse_token(leaked).public_id,
    )
    assert (event.ip, event.user_agent, event.details) == (
        "203.0.113.4",
        "scanner/2",
        {"owner": "alice"},
    )
    # what alice's own audit view lists (GET /v2/account/audit)
    newest = runtime.audit.list(AuditQuery(subject="alice", limit=1))
    assert [e.action for e in newest] == ["token.revoked_leaked"]


def test_a_leaked_session_token_is_deactivated(runtime: Runtime) -> None:
    created = runtime.tokens.create_session_token(
        runtime.users.get("alice"), client_id="docker", ip=None, user_agent=None
    )
    assert runtime.revocation.revoke([str(created.token)], REPORTER) == 1
    assert not runtime.tokens.get(created.record.id).active


def test_a_leaked_admin_key_is_revoked(runtime: Runtime) -> None:
    key = add_admin_key(runtime)["Authorization"].removeprefix("Bearer ")
    assert runtime.revocation.revoke([key], REPORTER) == 1
    with pytest.raises(Unauthorized, match="admin API key is revoked"):
        runtime.admin_keys.authenticate(key, None)
    (event,) = runtime.audit.list(AuditQuery(action="admin_key.revoke"))
    assert (event.actor, event.target) == ("revocation-api", parse_token(key).public_id)
    assert runtime.revocation.revoke([key], REPORTER) == 0  # already revoked: nothing to do


@pytest.mark.parametrize(
    "make",
    [
        pytest.param(lambda pat: forged(pat), id="right id, wrong secret"),
        pytest.param(lambda pat: pat[:-1] + ("A" if pat[-1] != "A" else "B"), id="bad checksum"),
        pytest.param(lambda pat: str(AccessToken.generate(TokenKind.PERSONAL)), id="unknown id"),
        pytest.param(lambda pat: pat.lower(), id="lower-cased"),
        pytest.param(lambda pat: pat[4:], id="no prefix"),
        pytest.param(lambda pat: "hello", id="not a token"),
        pytest.param(lambda pat: "", id="empty"),
    ],
)
def test_what_is_not_a_valid_credential_changes_nothing(
    runtime: Runtime, make: Callable[[str], str]
) -> None:
    pat = add_token(runtime, "alice")
    assert runtime.revocation.revoke([make(pat)], REPORTER) == 0
    assert active(runtime, pat)
    assert runtime.audit.list(AuditQuery(action="token.revoked_leaked")) == []


def test_a_forged_admin_key_changes_nothing(runtime: Runtime) -> None:
    key = add_admin_key(runtime)["Authorization"].removeprefix("Bearer ")
    assert runtime.revocation.revoke([forged(key)], REPORTER) == 0
    assert runtime.admin_keys.authenticate(key, None).revoked_at is None


def test_a_token_revoked_as_leaked_is_not_counted_again(runtime: Runtime) -> None:
    pat = add_token(runtime, "alice")
    assert runtime.revocation.revoke([pat], REPORTER) == 1
    assert runtime.revocation.revoke([pat], REPORTER) == 0
    assert len(runtime.audit.list(AuditQuery(action="token.revoked_leaked"))) == 1


def test_a_token_its_owner_deactivated_is_revoked_too(runtime: Runtime) -> None:
    # Inactive when its secret is reported: the secret is recorded all the same, or the owner
    # could activate the token with it again.
    pat = add_token(runtime, "alice")
    record = runtime.tokens.get(parse_token(pat).public_id)
    runtime.tokens.set_active(record, CLI_ACTOR, False)
    assert runtime.revocation.revoke([pat], REPORTER) == 1
    assert len(runtime.audit.list(AuditQuery(action="token.revoked_leaked"))) == 1
    with pytest.raises(Conflict, match="revoked as leaked"):
        runtime.tokens.set_active(record, CLI_ACTOR, True)


def test_a_report_is_counted_once_per_credential(runtime: Runtime) -> None:
    alice, bob = add_token(runtime, "alice"), add_token(runtime, "bob")
    assert runtime.revocation.revoke([alice, "junk", alice, bob, alice], REPORTER) == 2
    assert len(runtime.audit.list(AuditQuery(action="token.revoked_leaked"))) == 2


def test_only_the_first_thousand_credentials_of_a_report_are_read(runtime: Runtime) -> None:
    first, last = add_token(runtime, "alice"), add_token(runtime, "bob")
    report = [first, *(f"junk-{i}" for i in range(MAX_CREDENTIALS - 1)), last]
    assert runtime.revocation.revoke(report, REPORTER) == 1
    assert not active(runtime, first) and active(runtime, last)


async def test_a_leaked_organization_token_is_deactivated_and_audited(runtime: Runtime) -> None:
    acme = add_org(runtime, "acme", "alice")
    created = runtime.org_tokens.create(
        acme,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({"pull"})},
        public_read=False,
        expires_at=None,
    )
    leaked = str(created.token)
    assert runtime.revocation.revoke([forged(leaked)], REPORTER) == 0
    assert runtime.revocation.revoke([leaked], REPORTER) == 1
    with pytest.raises(Unauthorized, match="organization access token is inactive"):
        await runtime.authenticator.authenticate(Credentials("acme", leaked))
    (event,) = runtime.audit.list(AuditQuery(action="org_token.revoked_leaked"))
    assert (event.target, event.ip, event.details) == (
        parse_token(leaked).public_id,
        "203.0.113.4",
        {"org": "acme"},
    )
    assert runtime.revocation.revoke([leaked], REPORTER) == 0  # already revoked
