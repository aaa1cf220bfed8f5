"""The admin CLI, run in-process on a real temp data folder: output, JSON and exit codes."""

from __future__ import annotations

import io
import json
import sys
from pathlib import Path

import pytest
from cryptography import x509

from regauth.cli import EXIT_ERROR, EXIT_OK, EXIT_USAGE, main
from regauth.tokens import parse_token


@pytest.fixture
def env(tmp_path: Path) -> dict[str, str]:
    return {
        "REGAUTH_STORAGE_PATH": str(tmp_path / "regauth.db"),
        "REGAUTH_KEYS_DIR": str(tmp_path / "keys"),
        "REGAUTH_SERVER_PUBLIC_URL": "http://localhost:5999",
        "REGAUTH_TOKEN_SERVICE": "my-registry",
    }


def run(env: dict[str, str], *argv: str, stdin: str = "") -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    old = sys.stdin, sys.stdout, sys.stderr
    sys.stdin, sys.stdout, sys.stderr = io.StringIO(stdin), out, err
    try:
        code = main(list(argv), env)
    finally:
        sys.stdin, sys.stdout, sys.stderr = old
    return code, out.getvalue(), err.getvalue()


def test_bootstrap_user_and_token(env: dict[str, str]) -> None:
    code, out, _ = run(env, "user", "add", "alice", "--password-stdin", stdin="correct horse\n")
    assert (code, out.strip()) == (EXIT_OK, "created user alice")
    code, out, err = run(
        env,
        "token",
        "create",
        "--user",
        "alice",
        "--description",
        "laptop",
        "--access",
        "write",
        "--expires",
        "30d",
    )
    assert code == EXIT_OK
    token = parse_token(out.strip())  # stdout is exactly the token, for scripts
    assert "shown only once" in err
    code, out, _ = run(
        env,
        "token",
        "create",
        "--user",
        "alice",
        "--description",
        "ci",
        "--access",
        "read",
        "--json",
    )
    data = json.loads(out)
    assert data["access"] == "read" and data["expires_at"] is None and data["description"] == "ci"
    assert parse_token(data["token"]).public_id == data["id"]
    code, out, _ = run(env, "token", "list", "--user", "alice", "--json")
    listed = json.loads(out)
    assert {t["id"] for t in listed} == {token.public_id, data["id"]}
    assert all("token" not in t for t in listed)  # the secret is never shown again


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
    ],
)
def test_errors_exit_non_zero_with_a_message(
    env: dict[str, str], argv: list[str], code: int, message: str
) -> None:
    result, _, err = run(env, *argv)
    assert result == code
    assert message in err


def test_bad_config_is_a_usage_error(env: dict[str, str]) -> None:
    code, _, err = run({**env, "REGAUTH_TOKEN_TTL_SECONDS": "5"}, "repo", "list")
    assert code == EXIT_USAGE
    assert "token.ttl_seconds" in err


def test_bad_expiry_and_duplicate_user(env: dict[str, str]) -> None:
    run(env, "user", "add", "alice")
    assert run(env, "user", "add", "alice")[0] == EXIT_ERROR
    code, _, err = run(
        env,
        "token",
        "create",
        "--user",
        "alice",
        "--description",
        "x",
        "--access",
        "read",
        "--expires",
        "2001-01-01",
    )
    assert code == EXIT_ERROR and "future" in err


def test_keys_export_and_registry_config(env: dict[str, str], tmp_path: Path) -> None:
    code, pem, _ = run(env, "keys", "export", "--format", "pem")
    assert code == EXIT_OK
    certs = x509.load_pem_x509_certificates(pem.encode())
    assert len(certs) >= 1
    code, out, _ = run(env, "keys", "export", "--format", "jwks")
    assert json.loads(out)["keys"][0]["kid"]
    code, v2, _ = run(env, "registry-config")
    assert 'realm: "http://localhost:5999/token"' in v2
    assert 'service: "my-registry"' in v2
    assert 'issuer: "regauth"' in v2
    assert f'rootcertbundle: "{tmp_path / "keys" / "rootcertbundle.pem"}"' in v2
    assert "jwks" not in v2
    assert (tmp_path / "keys" / "rootcertbundle.pem").read_text() == pem
    code, v3, _ = run(env, "registry-config", "--registry-version", "3")
    assert f'jwks: "{tmp_path / "keys" / "jwks.json"}"' in v3
    assert "signingalgorithms: [ES256]" in v3


def test_repo_visibility(env: dict[str, str]) -> None:
    assert (
        run(env, "repo", "set-visibility", "alice/site", "public")[1].strip()
        == "alice/site is public"
    )
    code, out, _ = run(env, "repo", "list", "--json")
    assert code == EXIT_OK
    assert [(r["name"], r["visibility"]) for r in json.loads(out)] == [("alice/site", "public")]
