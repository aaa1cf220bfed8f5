"""The audit trail on a real temp SQLite file: what a failed sign-in keeps of the presented name."""

from __future__ import annotations

import pytest

from regauth.domain.models import Actor, AuditQuery
from regauth.domain.tokens import AccessToken, TokenKind
from regauth.domain.usernames import INVALID
from regauth.runtime import Runtime

PAT = str(AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12"))


@pytest.mark.parametrize(
    ("presented", "recorded"),
    [
        ("alice", "alice"),
        ("no-such-user", "no-such-user"),  # unknown, but a name: worth seeing (a spray)
        ("Tr0ub4dor&3", INVALID),  # a password typed into the username field
        ("alice-password ", INVALID),
        (PAT, INVALID),
        ("", ""),
    ],
)
def test_a_failed_sign_in_keeps_the_name_only_if_an_account_could_have_it(
    runtime: Runtime, presented: str, recorded: str
) -> None:
    runtime.audit.failed_authentication(presented, "192.0.2.9", "curl/8", "incorrect")
    runtime.audit.flush()
    (event,) = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert (event.actor, event.target, event.count) == (recorded, recorded, 1)


def test_invalid_names_from_one_address_are_counted_in_one_row(runtime: Runtime) -> None:
    for password in ("Tr0ub4dor&3", "correct horse battery staple", "Tr0ub4dor&3"):
        runtime.audit.failed_authentication(password, "192.0.2.9", None, "incorrect")
    runtime.audit.flush()
    (event,) = runtime.audit.list(AuditQuery(action="auth.failed"))
    assert (event.actor, event.count) == (INVALID, 3)


def test_a_token_in_the_user_agent_is_not_kept(runtime: Runtime) -> None:
    runtime.audit.failed_authentication("alice", None, f"tool/1 {PAT}", "incorrect")
    runtime.users.create("bob", None, Actor("bob", "user", None, f"t {PAT}"))
    runtime.audit.flush()
    agents = [e.user_agent for e in runtime.audit.list(AuditQuery())]
    assert sorted(agents, key=str) == [
        "t rgp_AbC123xYz0<redacted>",
        "tool/1 rgp_AbC123xYz0<redacted>",
    ]
