"""`regauth keys show` and `keys rotate`: key ids in both formats, rotation keeps the old key trusted."""

from __future__ import annotations

from pathlib import Path

from cryptography import x509

from regauth.cli import EXIT_USAGE
from regauth.domain.timefmt import rfc3339
from tests.cli.conftest import Cli

LIBTRUST_KID = r"^[A-Z2-7]{4}(:[A-Z2-7]{4}){11}$"


def bundle(tmp_path: Path) -> list[x509.Certificate]:
    return x509.load_pem_x509_certificates((tmp_path / "keys" / "rootcertbundle.pem").read_bytes())


def test_show(cli: Cli, tmp_path: Path) -> None:
    shown = cli.ok("keys", "show", "--json").json()
    jwks = cli.ok("keys", "export", "--format", "jwks").json()
    assert shown["algorithm"] == "ES256" and shown["kid_format"] == "libtrust"
    assert shown["kid"] == shown["libtrust_kid"] == jwks["keys"][0]["kid"]
    assert shown["libtrust_kid"] != shown["jwk_thumbprint_kid"]
    assert len(shown["jwk_thumbprint_kid"]) == 43  # unpadded base64url of SHA-256
    assert shown["certificate_expires_at"] == rfc3339(cli.clock() + 3650 * 86400)
    assert shown["previous_keys"] == 0
    assert shown["rootcertbundle"] == str(tmp_path / "keys" / "rootcertbundle.pem")
    assert shown["jwks"] == str(tmp_path / "keys" / "jwks.json")
    fields = cli.ok("keys", "show").fields()
    assert fields["kid"] == shown["kid"] and fields["algorithm"] == "ES256"


def test_show_with_thumbprint_kids(cli: Cli) -> None:
    libtrust = cli.ok("keys", "show", "--json").json()
    cli.env["REGAUTH_KEYS_KID_FORMAT"] = "jwk-thumbprint"
    shown = cli.ok("keys", "show", "--json").json()
    # The same key, now named the way registry 3.1+ names it.
    assert shown["kid"] == shown["jwk_thumbprint_kid"] == libtrust["jwk_thumbprint_kid"]
    assert cli.ok("keys", "export", "--format", "jwks").json()["keys"][0]["kid"] == shown["kid"]


def test_rotate(cli: Cli, tmp_path: Path) -> None:
    old = cli.ok("keys", "show", "--json").json()["kid"]
    cli.clock.advance(60)
    result = cli.ok("keys", "rotate")
    new = result.out.strip()  # stdout is exactly the new kid
    assert new != old
    assert "rootcertbundle.pem" in result.err and "restart `regauth serve`" in result.err
    shown = cli.ok("keys", "show", "--json").json()
    assert (shown["kid"], shown["previous_keys"]) == (new, 1)
    # The old key stays trusted, so tokens it signed still verify until they expire.
    assert len(bundle(tmp_path)) == 2
    jwks = cli.ok("keys", "export", "--format", "jwks").json()
    assert [k["kid"] for k in jwks["keys"]] == [new, old]
    [event] = cli.audit("keys.rotate")
    assert (event["actor"], event["target"]) == ("cli", new)
    assert event["details"] == {"algorithm": "ES256", "previous_kid": old}


def test_rotate_switches_algorithm(cli: Cli, tmp_path: Path) -> None:
    cli.ok("keys", "show")
    cli.env["REGAUTH_KEYS_ALGORITHM"] = "RS256"
    refused = cli("keys", "show")
    assert refused.code == EXIT_USAGE and "regauth keys rotate" in refused.err
    cli.clock.advance(60)
    cli.ok("keys", "rotate")
    shown = cli.ok("keys", "show", "--json").json()
    assert (shown["algorithm"], shown["previous_keys"]) == ("RS256", 1)
    jwks = cli.ok("keys", "export", "--format", "jwks").json()
    assert [k["kty"] for k in jwks["keys"]] == ["RSA", "EC"]


def test_rotating_twice_in_one_second_keeps_every_key(cli: Cli, tmp_path: Path) -> None:
    cli.ok("keys", "show")
    first = cli.ok("keys", "rotate").out.strip()
    second = cli.ok("keys", "rotate").out.strip()
    # The retired certificates are named by the second, so the names must not collide.
    assert len(bundle(tmp_path)) == 3
    assert cli.ok("keys", "show", "--json").json()["kid"] == second
    assert cli.audit("keys.rotate")[0]["details"]["previous_kid"] == first
