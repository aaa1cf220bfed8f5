"""`regauth admin-key ...`: the secret is printed once at creation, works, and stops at revoke."""

from __future__ import annotations

import pytest

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.domain.tokens import TokenKind, parse_token
from regauth.errors import Unauthorized
from regauth.runtime import Runtime
from tests.cli.conftest import Cli


def test_create_list_revoke(cli: Cli, runtime: Runtime) -> None:
    result = cli.ok("admin-key", "create", "--description", "deploy bot")
    secret = parse_token(result.out.strip())  # stdout is exactly the key, for scripts
    assert secret.kind is TokenKind.ADMIN_KEY and result.out.startswith("rga_")
    assert "shown only once" in result.err
    assert runtime.admin_keys.authenticate(str(secret), "192.0.2.1").id == secret.public_id
    runtime.usage.flush()  # what the server does within a second

    created = cli.ok("admin-key", "create", "--description", "ci", "--json").json()
    assert parse_token(created["key"]).public_id == created["id"]
    assert (created["description"], created["created_by"], created["revoked_at"]) == (
        "ci",
        "cli",
        None,
    )

    listed = cli.ok("admin-key", "list", "--json").json()
    assert {k["id"] for k in listed} == {secret.public_id, created["id"]}
    assert all("key" not in k for k in listed)  # never shown again
    used = next(k for k in listed if k["id"] == secret.public_id)
    assert used["last_used_ip"] == "192.0.2.1"
    table = cli.ok("admin-key", "list").out
    assert secret.public_id in table and str(secret) not in table and created["key"] not in table

    assert cli.ok("admin-key", "revoke", secret.public_id).out.strip() == (
        f"revoked admin API key {secret.public_id}"
    )
    with pytest.raises(Unauthorized, match="revoked"):
        runtime.admin_keys.authenticate(str(secret), None)
    revoked = next(
        k for k in cli.ok("admin-key", "list", "--json").json() if k["id"] == secret.public_id
    )
    assert revoked["revoked_at"] == "2027-01-15T08:00:00Z"
    assert [e["target"] for e in cli.audit("admin_key.create")] == [created["id"], secret.public_id]
    [event] = cli.audit("admin_key.revoke")
    assert (event["actor"], event["target"]) == ("cli", secret.public_id)
    # A second revoke is refused, not silently repeated.
    again = cli("admin-key", "revoke", secret.public_id)
    assert again.code == EXIT_ERROR and "no such active admin key" in again.err


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["revoke", "NoSuchKey1"], EXIT_ERROR, "no such active admin key: 'NoSuchKey1'"),
        (["create", "--description", " "], EXIT_ERROR, "description must be"),
        (["create"], EXIT_USAGE, "--description"),
    ],
)
def test_admin_key_errors(cli: Cli, argv: list[str], code: int, message: str) -> None:
    result = cli("admin-key", *argv)
    assert (result.code, result.out) == (code, "")
    assert message in result.err


def test_a_scim_key_opens_scim_only(cli: Cli, runtime: Runtime) -> None:
    result = cli.ok("admin-key", "create", "--scim", "--description", "okta")
    secret = result.out.strip()
    assert parse_token(secret).kind is TokenKind.ADMIN_KEY  # /token refuses the kind
    assert "SCIM key" in result.err and "/scim/v2" in result.err and "only once" in result.err
    assert runtime.admin_keys.authenticate(secret, None, purpose="scim").purpose == "scim"
    with pytest.raises(Unauthorized, match="does not open the admin API"):
        runtime.admin_keys.authenticate(secret, None)
    admin = cli.ok("admin-key", "create", "--description", "ops").out.strip()
    with pytest.raises(Unauthorized, match="admin-key create --scim"):
        runtime.admin_keys.authenticate(admin, None, purpose="scim")
    listed = {k["description"]: k["purpose"] for k in cli.ok("admin-key", "list", "--json").json()}
    assert listed == {"okta": "scim", "ops": "admin"}
    assert "scim" in cli.ok("admin-key", "list").out
    assert {e["details"]["purpose"] for e in cli.audit("admin_key.create")} == {"scim", "admin"}
