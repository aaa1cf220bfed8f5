"""Explain on a real temp SQLite file: every kind of token is explained as /token would treat it,
because both get the principal and the refusal from the same Authenticator."""

from __future__ import annotations

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, OrgTokenRecord
from regauth.domain.scopes import parse_scopes
from regauth.domain.tokens import AccessToken
from regauth.errors import NotFoundInStore, SecondFactorRequired, Unauthorized
from regauth.runtime import Runtime
from regauth.services.decisions import decide_with_store
from regauth.services.explain import Explanation
from tests.support.builders import OpenRuntime, add_token, add_user
from tests.support.clock import FakeClock
from tests.support.secrets import remember


def _org_token(
    runtime: Runtime, *, public_read: bool = False, expires_at: int | None = None
) -> tuple[OrgTokenRecord, AccessToken]:
    add_user(runtime, "olivia", "olivia-password")
    org = runtime.organizations.create("acme", runtime.users.get("olivia"), CLI_ACTOR)
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label="ci",
        description="",
        resources={"acme/app": frozenset({"pull", "push"})},
        public_read=public_read,
        expires_at=expires_at,
    )
    remember(str(created.token))
    return created.record, created.token


def _granted(explanation: Explanation) -> dict[str, tuple[str, ...]]:
    return {g.name: g.actions for g in explanation.decision.granted}


def _denied(explanation: Explanation) -> dict[tuple[str, str], str]:
    return {(d.name, d.action): d.reason for d in explanation.decision.denied}


async def _at_token(runtime: Runtime, username: str, secret: str, scope: str) -> set[str]:
    """What /token's own path grants the same credential (no HTTP: the service it calls)."""
    authenticated = await runtime.authenticator.authenticate(Credentials(username, secret))
    scopes, _ = parse_scopes([scope])
    decision = decide_with_store(runtime.store, authenticated.principal, scopes)
    return {f"{g.name}:{a}" for g in decision.granted for a in g.actions}


async def test_an_organization_token_is_explained_by_its_id_and_its_uuid(
    runtime: Runtime,
) -> None:
    record, token = _org_token(runtime)
    scope = "repository:acme/app:pull,push,delete repository:acme/other:pull"
    for key in (record.id, record.uuid):
        explanation = runtime.explain.for_token(key, scope)
        assert explanation.subject == f"organization token {record.id} of acme"
        assert explanation.credential_refusal is None
        assert _granted(explanation) == {"acme/app": ("pull", "push")}
        assert set(_denied(explanation)) == {("acme/app", "delete"), ("acme/other", "pull")}
    # The very grants /token makes for the same token.
    granted = {
        f"{g.name}:{a}"
        for g in runtime.explain.for_token(record.id, scope).decision.granted
        for a in g.actions
    }
    assert granted == await _at_token(runtime, "acme", str(token), scope)


def test_an_inactive_or_expired_organization_token_is_refused_with_the_reason_token_gives(
    runtime: Runtime, clock: FakeClock
) -> None:
    record, _ = _org_token(runtime, expires_at=int(clock()) + 60)
    scope = "repository:acme/app:pull"
    clock.advance(61)
    expired = runtime.explain.for_token(record.id, scope)
    assert expired.credential_refusal == "organization access token has expired"
    assert _granted(expired) == {}
    assert _denied(expired) == {("acme/app", "pull"): "organization access token has expired"}
    runtime.store.update_org_token(record.id, active=False)
    inactive = runtime.explain.for_token(record.id, scope)
    assert inactive.credential_refusal == "organization access token is inactive"


def test_a_session_token_is_explained_as_one(runtime: Runtime) -> None:
    add_user(runtime, "alice", "alice-password")
    created = runtime.tokens.create_session_token(
        runtime.users.get("alice"), client_id="docker", ip=None, user_agent=None
    )
    remember(str(created.token))
    explanation = runtime.explain.for_token(created.record.id, "repository:alice/app:push")
    assert explanation.subject == f"session token {created.record.id} of alice"
    assert _granted(explanation) == {"alice/app": ("push",)}
    runtime.store.update_token(created.record.id, active=False)
    refused = runtime.explain.for_token(created.record.id, "repository:alice/app:push")
    # What /token says for this token, not the personal-token wording.
    assert refused.credential_refusal == "session token is inactive"


def test_an_admin_key_is_not_a_registry_credential(runtime: Runtime) -> None:
    key = runtime.admin_keys.create("ops", CLI_ACTOR)
    remember(str(key.secret))
    explanation = runtime.explain.for_token(key.key.id, "repository:alice/app:pull")
    assert explanation.subject == f"admin API key {key.key.id}"
    assert explanation.credential_refusal is not None
    assert "not registry credentials" in explanation.credential_refusal
    assert _granted(explanation) == {}
    assert _denied(explanation) == {("alice/app", "pull"): explanation.credential_refusal}


def test_an_unknown_id_is_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFoundInStore, match="no such token"):
        runtime.explain.for_token("NoSuchTok1", "repository:a/b:pull")


def test_a_personal_token_of_a_disabled_owner_is_refused_as_at_token(runtime: Runtime) -> None:
    add_user(runtime, "alice", "alice-password")
    pat = add_token(runtime, "alice")
    runtime.users.set_disabled("alice", CLI_ACTOR, True)
    explanation = runtime.explain.for_token(pat[4:14], "repository:alice/app:pull")
    assert explanation.subject == f"token {pat[4:14]} of alice"
    assert explanation.credential_refusal == "account is disabled"


async def test_a_password_is_refused_where_token_refuses_it(
    runtime: Runtime, another_runtime: OpenRuntime
) -> None:
    add_user(runtime, "alice", "alice-password")
    assert runtime.explain.for_user("alice", "repository:alice/a:pull").credential_refusal is None
    # Two-factor on: /token refuses the password (a PAT is the way), and explain says so.
    alice = runtime.users.get("alice")
    runtime.store.set_totp(alice.id, b"sealed", enabled=True)
    with pytest.raises(SecondFactorRequired) as second:
        await runtime.authenticator.authenticate(Credentials("alice", "alice-password"))
    two_factor = runtime.explain.for_user("alice", "repository:alice/a:pull")
    assert two_factor.credential_refusal == second.value.message
    assert _granted(two_factor) == {}
    runtime.store.set_totp(alice.id, None, enabled=False)
    # With password sign-ins switched off, /token refuses the password: so does explain.
    other = another_runtime(auth={"password_logins": False})
    with pytest.raises(Unauthorized) as refused:
        await other.authenticator.authenticate(Credentials("alice", "alice-password"))
    explanation = other.explain.for_user("alice", "repository:alice/a:pull")
    assert explanation.credential_refusal == refused.value.message
