"""Account names: which names are valid, and what the audit trail keeps of a presented one."""

from __future__ import annotations

import pytest

from regauth.domain import usernames
from regauth.domain.tokens import AccessToken, TokenKind

PAT = str(AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12"))


@pytest.mark.parametrize(
    ("presented", "kept"),
    [
        ("alice", "alice"),
        ("acme", "acme"),  # an organization signs in with its name (docker login -u acme)
        ("build-bot", "build-bot"),
        ("a.b_c__d--e", "a.b_c__d--e"),
        ("ab", "ab"),
        ("a" * 64, "a" * 64),
        ("", ""),  # docker's identity-token sign-in sends no username: nothing to hide
        # what no account can be called: maybe a password or a token in the wrong field
        ("Hunter2!password", usernames.INVALID),
        ("correct horse battery staple", usernames.INVALID),
        (PAT, usernames.INVALID),
        ("Alice", usernames.INVALID),
        ("a", usernames.INVALID),
        ("a" * 65, usernames.INVALID),
        ("-alice", usernames.INVALID),
        ("alice.", usernames.INVALID),
        ("ali:ce", usernames.INVALID),
        ("zoë", usernames.INVALID),
        ("alice\n", usernames.INVALID),
    ],
)
def test_presented_names_are_kept_only_when_an_account_could_have_them(
    presented: str, kept: str
) -> None:
    assert usernames.presented(presented) == kept
    assert usernames.is_valid(presented) == (kept == presented and presented != "")
