"""`regauth 2fa`: enrollment with a code computed at the pinned time, and turning it off."""

from __future__ import annotations

import pyotp
import pytest

from regauth.domain.credentials import Credentials
from regauth.errors import SecondFactorRequired
from regauth.runtime import Runtime
from tests.cli.conftest import Cli


@pytest.fixture
def people(cli: Cli) -> Cli:
    cli.ok("user", "add", "bob", "--password-stdin", stdin="bob-password-1\n")
    return cli


async def test_enroll_confirm_and_disable(people: Cli, runtime: Runtime) -> None:
    enrolled = people.ok("2fa", "enroll", "bob", "--json").json()
    assert enrolled["otpauth_uri"].startswith("otpauth://totp/regauth:bob?secret=")
    code = pyotp.TOTP(enrolled["secret"]).at(people.clock.now)
    codes = people.ok("2fa", "confirm", "bob", code, "--json").json()["recovery_codes"]
    assert len(codes) == 10
    with pytest.raises(SecondFactorRequired):
        await runtime.authenticator.authenticate(Credentials("bob", "bob-password-1"))
    wrong = people("2fa", "disable", "bob", "--code", "000000")
    assert wrong.code == 1 and "not valid" in wrong.err
    assert people.ok("2fa", "disable", "bob", "--code", codes[0]).out.strip() == (
        "two-factor authentication is off for bob"
    )
    assert [e["action"] for e in people.audit("2fa.disable")] == ["2fa.disable"]


def test_confirm_with_a_wrong_code_fails(people: Cli) -> None:
    people.ok("2fa", "enroll", "bob")
    result = people("2fa", "confirm", "bob", "123456")
    assert result.code == 1 and "not valid" in result.err
