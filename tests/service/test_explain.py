"""Explain on a real temp SQLite file: for a user or a personal access token and a scope, what
/token would grant by which rule, and why the rest would be refused."""

from __future__ import annotations

import pytest

from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AccessLevel, OrgRole, TeamPermission, Visibility
from regauth.domain.policy import Decision
from regauth.domain.tokens import parse_token
from regauth.errors import NotFoundInStore, Unauthorized
from regauth.runtime import Runtime
from regauth.services.explain import Explanation
from regauth.services.token_issuer import TokenRequest
from tests.support.builders import add_org, add_token, add_user, password_of
from tests.support.clock import FakeClock


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    """alice, who owns acme; bob, whose bob/public is public; root, an admin; dave, in acme's
    team devs (read on 'app', write on 'ci/*'). No passwords: each hash is ~25 ms of argon2."""
    for name in ("alice", "bob", "dave"):
        add_user(runtime, name, None)
    add_user(runtime, "root", None, admin=True)
    runtime.repositories.set_visibility("bob/public", Visibility.PUBLIC, CLI_ACTOR)
    acme = add_org(runtime, "acme", "alice")
    orgs = runtime.organizations
    orgs.set_member(acme, runtime.users.get("dave"), OrgRole.MEMBER, CLI_ACTOR)
    devs = orgs.create_team(acme, "devs", "", CLI_ACTOR)
    orgs.add_team_member(acme, devs, runtime.users.get("dave"), CLI_ACTOR)
    devs = orgs.set_permission(acme, devs, "app", TeamPermission.READ, CLI_ACTOR)
    orgs.set_permission(acme, devs, "ci/*", TeamPermission.WRITE, CLI_ACTOR)


def actions(decision: Decision) -> tuple[dict[str, list[str]], dict[str, str]]:
    """What was granted (name -> actions) and what was denied (name:action -> reason)."""
    granted = {g.name: list(g.actions) for g in decision.granted}
    denied = {f"{d.name}:{d.action}": d.reason for d in decision.denied}
    return granted, denied


def reasons(explanation: Explanation) -> list[str]:
    return [r for g in explanation.decision.granted for r in g.reasons]


async def granted_at_token(runtime: Runtime, username: str, secret: str, scope: str) -> Decision:
    """What /token decides for these credentials and this scope (the service behind it)."""
    request = TokenRequest(
        credentials=Credentials(username, secret),
        service="registry",
        scopes=[scope],
        account=None,
        client_ip=None,
        user_agent=None,
    )
    return (await runtime.token_issuer.issue(request)).decision


# -- explain says what /token would do ------------------------------------------------------------

SCOPES = [
    "repository:alice/app:pull,push,delete",
    "repository:bob/public:pull,push",
    "repository:bob/secret:pull",
    "repository:acme/app:pull,push",
    "repository:acme/ci/build:pull,push,delete",
    "repository:acme/other:pull",
    "registry:catalog:*",
]


@pytest.mark.parametrize("user", ["alice", "bob", "dave", "root"])
async def test_for_a_user_explain_decides_as_a_password_at_token_does(
    runtime: Runtime, user: str
) -> None:
    runtime.users.reset_password(user, CLI_ACTOR, password_of(user))
    for scope in SCOPES:
        explained = runtime.explain.for_user(user, scope)
        at_token = await granted_at_token(runtime, user, password_of(user), scope)
        assert explained.decision == at_token, scope
        assert explained.credential_refusal is None


@pytest.mark.parametrize(
    ("owner", "access"),
    [
        ("alice", AccessLevel.PUBLIC_READ),
        ("alice", AccessLevel.READ),
        ("alice", AccessLevel.WRITE),
        ("dave", AccessLevel.DELETE),
        ("root", AccessLevel.DELETE),  # an admin's token: its level still caps it
    ],
)
async def test_for_a_pat_explain_decides_as_the_pat_at_token_does(
    runtime: Runtime, owner: str, access: AccessLevel
) -> None:
    pat = add_token(runtime, owner, access)
    for scope in SCOPES:
        explained = runtime.explain.for_token(parse_token(pat).public_id, scope)
        assert explained.decision == await granted_at_token(runtime, owner, pat, scope), scope
        assert explained.credential_refusal is None


async def test_for_a_session_token_explain_decides_as_it_does_at_token(
    runtime: Runtime,
) -> None:
    created = runtime.tokens.create_session_token(
        runtime.users.get("dave"), client_id="docker", ip=None, user_agent=None
    )
    scope = "repository:acme/ci/build:pull,push,delete"
    explained = runtime.explain.for_token(created.record.id, scope)
    at_token = await granted_at_token(runtime, "dave", str(created.token), scope)
    assert explained.decision == at_token
    assert actions(explained.decision)[0] == {"acme/ci/build": ["pull", "push"]}


# -- the reasons ----------------------------------------------------------------------------------


def test_each_grant_and_refusal_names_its_rule(runtime: Runtime) -> None:
    explained = runtime.explain.for_user("dave", "repository:acme/app:pull,push")
    assert explained.subject == "user dave"
    assert reasons(explained) == ["pull: team 'devs' has read on 'app'"]
    assert actions(explained.decision)[1] == {
        "acme/app:push": "no team of yours in 'acme' grants push on this repository"
    }
    explained = runtime.explain.for_user("bob", "repository:acme/app:pull")
    assert actions(explained.decision)[1] == {
        "acme/app:pull": "not a member of organization 'acme'"
    }
    explained = runtime.explain.for_user("alice", "repository:bob/public:pull,push")
    assert reasons(explained) == ["pull: repository is public"]
    assert actions(explained.decision)[1] == {
        "bob/public:push": "repository is public, but push is for the owner of its namespace"
    }


def test_a_token_is_explained_by_id_or_uuid_with_its_level(runtime: Runtime) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ)
    record = runtime.tokens.get(parse_token(pat).public_id)
    scope = "repository:alice/app:pull,push"
    by_id, by_uuid = (runtime.explain.for_token(i, scope) for i in (record.id, record.uuid))
    assert by_id == by_uuid
    assert by_id.subject == f"token {record.id} of alice"
    assert actions(by_id.decision) == (
        {"alice/app": ["pull"]},
        {"alice/app:push": "token access level 'read' excludes it"},
    )


def test_scopes_that_do_not_parse_are_listed_apart(runtime: Runtime) -> None:
    explained = runtime.explain.for_user("alice", "repository:alice/app")
    assert explained.decision == Decision((), ())
    assert [r.raw for r in explained.rejected] == ["repository:alice/app"]
    assert explained.rejected[0].reason


def test_unknown_users_and_tokens_are_not_found(runtime: Runtime) -> None:
    with pytest.raises(NotFoundInStore, match="no such user: 'nobody'"):
        runtime.explain.for_user("nobody", "repository:nobody/app:pull")
    with pytest.raises(NotFoundInStore, match="no such token: 'AbC123xYz0'"):
        runtime.explain.for_token("AbC123xYz0", "repository:alice/app:pull")


# -- a credential that /token would refuse --------------------------------------------------------


@pytest.mark.parametrize(
    ("change", "refusal"),
    [
        ("expire", "personal access token has expired"),
        ("deactivate", "personal access token is inactive"),
        ("disable_owner", "account is disabled"),
    ],
)
async def test_a_refused_token_grants_nothing_and_says_why(
    runtime: Runtime, clock: FakeClock, change: str, refusal: str
) -> None:
    pat = add_token(runtime, "alice", expires_at=int(clock.now) + 60)
    record = runtime.tokens.get(parse_token(pat).public_id)
    if change == "expire":
        clock.advance(60)
    elif change == "deactivate":
        runtime.tokens.set_active(record, CLI_ACTOR, False)
    else:
        runtime.users.set_disabled("alice", CLI_ACTOR, True)
    explained = runtime.explain.for_token(record.id, "repository:alice/app:pull,push")
    assert explained.credential_refusal == refusal
    assert actions(explained.decision) == (
        {},
        {"alice/app:pull": refusal, "alice/app:push": refusal},
    )
    with pytest.raises(Unauthorized, match=refusal):  # as /token says
        await granted_at_token(runtime, "alice", pat, "repository:alice/app:pull")


def test_a_disabled_user_grants_nothing_and_keeps_the_other_reasons(runtime: Runtime) -> None:
    runtime.users.set_disabled("dave", CLI_ACTOR, True)
    explained = runtime.explain.for_user("dave", "repository:acme/app:pull,push")
    assert explained.credential_refusal == "account is disabled"
    assert actions(explained.decision) == (
        {},
        {
            "acme/app:pull": "account is disabled",
            "acme/app:push": "no team of yours in 'acme' grants push on this repository",
        },
    )
