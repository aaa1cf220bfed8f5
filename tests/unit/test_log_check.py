"""The session's log check (tests/support/log_check.py): what it finds, and that it is listening."""

from __future__ import annotations

import base64
import logging

import pytest

from regauth.domain.redaction import scrub_message
from regauth.domain.tokens import AccessToken, TokenKind
from tests.support import log_check
from tests.support.secrets import find_leaks

PAT = str(AccessToken(TokenKind.PERSONAL, "AbC123xYz0", "s3cretS3cretS3cretS3cretS3cret12"))
JWT = "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiJhbGljZSJ9.c2lnbmF0dXJl"
PASSWORD = 'alice-pässword"1'


def kinds(text: str) -> list[str]:
    return sorted({kind for kind, _, _ in find_leaks(text, [PASSWORD, PAT, JWT])})


@pytest.mark.parametrize(
    ("line", "found"),
    [
        (f'{{"path":"/admin/v1/tokens/{PAT}"}}', ["secret-shaped", "token-shaped"]),
        (f'{{"path":"/x/{PAT[:-6]}"}}', ["secret-shaped", "token-shaped"]),
        (f'{{"method":"{PAT.upper()}"}}', ["secret-shaped", "token-shaped"]),
        (f'{{"path":"/x/{PAT[4:]}"}}', ["secret-shaped"]),  # the prefix lost
        (f'{{"event":"Bearer {JWT}"}}', ["JWT-shaped", "base64 of user:secret"]),  # {"sub":"alice"}
        (f"Basic {base64.b64encode(b'alice:hunter2-password').decode()}", ["base64 of user:secret"]),
        (f'{{"event":"{PASSWORD}"}}', ["a secret a test made"]),
        ('{"event":"alice-pässword\\"1"}', ["a secret a test made"]),  # in a JSON string
        ('{"event":"alice-p\\u00e4ssword\\"1"}', ["a secret a test made"]),
        # what the scrubber writes instead, and ordinary lines, are clean
        (scrub_message(f"/admin/v1/tokens/{PAT} {JWT} {PAT[:-6]} {PAT.upper()}"), []),
        ('{"event":"request","path":"/token","request_id":"1a2b3c4d1f"}', []),
        ('{"event":"scope_denied","sub":"alice","denied":["repository:bob/x:pull: not yours"]}', []),
    ],
)  # fmt: skip
def test_what_the_check_finds(line: str, found: list[str]) -> None:
    assert kinds(line) == found


def test_the_check_is_listening_to_every_record(caplog: pytest.LogCaptureFixture) -> None:
    collector = log_check._log().collector
    logging.getLogger("regauth.anything").debug("a debug line nobody asked to see")
    node, line = collector.lines[-1]
    assert node.endswith("test_the_check_is_listening_to_every_record")
    assert '"event":"a debug line nobody asked to see"' in line
    assert log_check.CHECK_NAME == "no credential in the session's log"
