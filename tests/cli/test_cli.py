"""The admin CLI as a whole: bootstrap, exit codes, config errors, registry wiring, repositories."""

from __future__ import annotations

import os
import subprocess
import sys
from importlib.metadata import version
from pathlib import Path

import pytest
from cryptography import x509

from regauth.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from regauth.domain.credentials import Credentials
from regauth.domain.models import CLI_ACTOR, AccessLevel
from regauth.domain.tokens import parse_token
from regauth.runtime import Runtime
from regauth.services.token_issuer import TokenRequest
from tests.cli.conftest import Cli


def test_bootstrap_user_and_token(cli: Cli) -> None:
    result = cli("user", "add", "alice", "--password-stdin", stdin="correct horse\n")
    assert (result.code, result.out.strip()) == (EXIT_OK, "created user alice")
    argv = ["token", "create", "--user", "alice", "--description", "laptop", "--access", "write"]
    result = cli.ok(*argv, "--expires", "30d")
    token = parse_token(result.out.strip())  # stdout is exactly the token, for scripts
    assert "shown only once" in result.err
    argv = ["token", "create", "--user", "alice", "--description", "ci", "--access", "read"]
    data = cli.ok(*argv, "--json").json()
    assert data["access"] == "read" and data["expires_at"] is None and data["description"] == "ci"
    assert data["state"] == "active" and data["generated_by"] == "manual"
    assert parse_token(data["token"]).public_id == data["id"]
    listed = cli.ok("token", "list", "--user", "alice", "--json").json()
    assert {t["id"] for t in listed} == {token.public_id, data["id"]}
    assert all("token" not in t for t in listed)  # the secret is never shown again
    shown = cli.ok("token", "show", data["id"])
    assert data["token"] not in shown.out and str(token) not in shown.out


@pytest.mark.parametrize(
    ("argv", "code", "message"),
    [
        (["user", "add", "Bad Name"], EXIT_ERROR, "username must be"),
        (
            ["token", "create", "--user", "ghost", "--description", "x", "--access", "read"],
            EXIT_ERROR,
            "no such user",
        ),
        (["repo", "set-visibility", "noslash", "public"], EXIT_ERROR, "namespace/name"),
        (["frobnicate"], EXIT_USAGE, "invalid choice"),
        (["user"], EXIT_USAGE, "required"),
        (["repo", "set-visibility", "alice/site", "secret"], EXIT_USAGE, "invalid choice"),
    ],
)
def test_errors_exit_non_zero_with_a_message(
    cli: Cli, argv: list[str], code: int, message: str
) -> None:
    result = cli(*argv)
    assert result.code == code
    assert message in result.err
    assert result.out == ""


def test_help_exits_zero(cli: Cli) -> None:
    result = cli("--help")
    assert result.code == EXIT_OK
    assert "audit" in result.out and "admin-key" in result.out and "Exit codes" in result.out


def test_bad_config_is_a_usage_error(cli: Cli) -> None:
    cli.env["REGAUTH_TOKEN_TTL_SECONDS"] = "5"
    result = cli("repo", "list")
    assert result.code == EXIT_USAGE
    assert "token.ttl_seconds" in result.err


def test_bad_expiry_and_duplicate_user(cli: Cli) -> None:
    cli.ok("user", "add", "alice")
    assert cli("user", "add", "alice").code == EXIT_ERROR
    argv = ["token", "create", "--user", "alice", "--description", "x", "--access", "read"]
    result = cli(*argv, "--expires", "2001-01-01")
    assert result.code == EXIT_ERROR and "future" in result.err


def test_keys_export_and_registry_config(cli: Cli, tmp_path: Path) -> None:
    pem = cli.ok("keys", "export", "--format", "pem").out
    certs = x509.load_pem_x509_certificates(pem.encode())
    assert len(certs) >= 1
    assert cli.ok("keys", "export", "--format", "jwks").json()["keys"][0]["kid"]
    v2 = cli.ok("registry-config").out
    assert 'realm: "http://localhost:5999/token"' in v2
    assert 'service: "my-registry"' in v2
    assert 'issuer: "regauth"' in v2
    assert f'rootcertbundle: "{tmp_path / "keys" / "rootcertbundle.pem"}"' in v2
    assert "jwks" not in v2
    assert (tmp_path / "keys" / "rootcertbundle.pem").read_text() == pem
    v3 = cli.ok("registry-config", "--registry-version", "3").out
    assert f'jwks: "{tmp_path / "keys" / "jwks.json"}"' in v3
    assert "signingalgorithms: [ES256]" in v3


def test_repo_visibility(cli: Cli) -> None:
    assert cli.ok("repo", "set-visibility", "alice/site", "public").out.strip() == (
        "alice/site is public"
    )
    listed = cli.ok("repo", "list", "--json").json()
    assert [(r["name"], r["visibility"]) for r in listed] == [("alice/site", "public")]
    table = cli.ok("repo", "list").out.splitlines()
    assert table[0].split() == ["NAME", "VISIBILITY", "CREATED_AT"]
    assert table[1].split() == ["alice/site", "public", "2027-01-15T08:00:00Z"]
    [event] = cli.audit("repository.visibility")
    assert (event["actor"], event["target"]) == ("cli", "alice/site")


def test_version_is_printed(cli: Cli) -> None:
    result = cli("--version")
    assert (result.code, result.out.strip()) == (EXIT_OK, f"regauth {version('regauth')}")


@pytest.mark.parametrize("where", ["before", "after"])
def test_config_is_taken_before_or_after_the_command(cli: Cli, tmp_path: Path, where: str) -> None:
    config = tmp_path / "other.toml"
    config.write_text('[token]\nissuer = "from-the-file"\n')
    argv = ["registry-config"]
    argv = (
        ["--config", str(config), *argv] if where == "before" else [*argv, "--config", str(config)]
    )
    assert 'issuer: "from-the-file"' in cli.ok(*argv).out
    assert 'issuer: "from-the-file"' not in cli.ok("registry-config").out
    missing = str(tmp_path / "missing.toml")
    assert cli("user", "list", "--config", missing).code == EXIT_USAGE


def test_a_reader_that_goes_away_ends_the_command_quietly(
    runtime: Runtime, env: dict[str, str]
) -> None:
    for n in range(1000):
        runtime.users.create(f"user{n:04d}", None, CLI_ACTOR)
    # More than a pipe holds (64 KiB), so the writer meets the closed end.
    with subprocess.Popen(
        [sys.executable, "-m", "regauth", "audit", "list", "--limit", "1000"],
        env={**os.environ, **env},
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
    ) as writer:
        assert writer.stdout is not None
        head = subprocess.run(["head", "-n", "1"], stdin=writer.stdout, capture_output=True)
        writer.stdout.close()  # head had it; the writer's end is closed now head has exited
        _, err = writer.communicate(timeout=30)
    assert (writer.returncode, err.decode()) == (0, "")
    assert head.stdout.count(b"\n") == 1


async def test_set_visibility_says_when_nobody_was_ever_let_push_the_repository(
    cli: Cli, runtime: Runtime
) -> None:
    never = cli.ok("repo", "set-visibility", "alice/sitte", "public")
    assert never.out.strip() == "alice/sitte is public"  # done all the same
    assert "note: regauth has never let anyone push alice/sitte" in never.err
    # A push granted at /token (written with the last uses): no note for that one.
    runtime.users.create("alice", None, CLI_ACTOR)
    created = runtime.tokens.create(
        runtime.users.get("alice"), CLI_ACTOR, description="ci", access=AccessLevel.WRITE,
        expires_at=None,
    )  # fmt: skip
    grant = await runtime.token_issuer.issue(
        TokenRequest(
            service=None,  # the configured one
            scopes=["repository:alice/site:push,pull", "repository:alice/other:pull"],
            credentials=Credentials("alice", str(created.token)),
            account=None,
            client_ip="192.0.2.1",
            user_agent="docker",
        )
    )
    assert grant.decision.granted
    runtime.usage.flush()
    assert cli.ok("repo", "set-visibility", "alice/site", "public").err == ""
    assert (
        "never let anyone push alice/other"
        in cli.ok("repo", "set-visibility", "alice/other", "private").err
    )
