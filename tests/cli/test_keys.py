"""`regauth keys ...`: key ids in both formats, rotation (plain and staged) keeps the old key
trusted, only `keys` commands change the published files, and the v3 stanza names every
algorithm the registry must accept."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from cryptography import x509

from regauth.cli import EXIT_ERROR, EXIT_USAGE
from regauth.config import load_config
from regauth.domain.timefmt import rfc3339
from regauth.errors import ConfigError
from regauth.runtime import open_runtime
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
    # A key made at first start signs since it was made.
    assert (shown["signing_since"], shown["staged_kid"], shown["published"]) == (
        rfc3339(cli.clock()),
        None,
        "yes",
    )
    assert [(k["state"], k["kid"], k["since"]) for k in shown["keys"]] == [
        ("active", shown["kid"], rfc3339(cli.clock()))
    ]
    fields = cli.ok("keys", "show").fields()
    assert fields["kid"] == shown["kid"] and fields["algorithm"] == "ES256"
    assert fields["active"].split()[0] == shown["kid"]  # the table of keys, by state


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
    assert "rootcertbundle.pem" in result.err and "regauth keys rotate --stage" in result.err
    shown = cli.ok("keys", "show", "--json").json()
    assert (shown["kid"], shown["previous_keys"]) == (new, 1)
    # The old key stays trusted, so tokens it signed still verify until they expire.
    assert len(bundle(tmp_path)) == 2
    jwks = cli.ok("keys", "export", "--format", "jwks").json()
    assert [k["kid"] for k in jwks["keys"]][::2] == [new, old]  # each also by thumbprint
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
    assert [k["kty"] for k in jwks["keys"]] == ["RSA", "RSA", "EC", "EC"]


def test_rotating_twice_in_one_second_keeps_every_key(cli: Cli, tmp_path: Path) -> None:
    cli.ok("keys", "show")
    first = cli.ok("keys", "rotate").out.strip()
    second = cli.ok("keys", "rotate").out.strip()
    # The retired certificates are named by the second, so the names must not collide.
    assert len(bundle(tmp_path)) == 3
    assert cli.ok("keys", "show", "--json").json()["kid"] == second
    assert cli.audit("keys.rotate")[0]["details"]["previous_kid"] == first


# --- registry 3.x: every trusted algorithm ---------------------------------------------


def algorithms(cli: Cli) -> list[str]:
    stanza = cli.ok("registry-config", "--registry-version", "3").out
    found = re.search(r"^    signingalgorithms: \[(.*)\]$", stanza, re.MULTILINE)
    assert found, stanza
    return found.group(1).split(", ")


def test_registry_config_v3_keeps_the_old_algorithm_after_a_rotation(cli: Cli) -> None:
    # Before: [RS256] only, and a 3.x registry refused the still-valid ES256 tokens.
    assert algorithms(cli) == ["ES256"]
    cli.env["REGAUTH_KEYS_ALGORITHM"] = "RS256"
    cli.clock.advance(60)
    cli.ok("keys", "rotate")
    assert algorithms(cli) == ["RS256", "ES256"]


# --- only `regauth keys` commands change the published files ----------------------------


def published(tmp_path: Path) -> tuple[bytes, bytes]:
    keys = tmp_path / "keys"
    return (keys / "rootcertbundle.pem").read_bytes(), (keys / "jwks.json").read_bytes()


def test_changing_kid_format_rewrites_nothing_and_needs_no_new_jwks(
    cli: Cli, tmp_path: Path
) -> None:
    cli.env["REGAUTH_KEYS_X5C"] = "false"
    cli.ok("user", "add", "alice")
    before = published(tmp_path)
    libtrust = cli.ok("keys", "show", "--json").json()["kid"]
    cli.env["REGAUTH_KEYS_KID_FORMAT"] = "jwk-thumbprint"
    # Before: any command rewrote jwks.json with only the new kid, so a registry reloaded
    # then refused the tokens of the regauth still running with the old kid.
    cli.ok("user", "list")
    cli.ok("registry-config", "--registry-version", "3")
    shown = cli.ok("keys", "show", "--json").json()
    assert published(tmp_path) == before
    # Both kids were published from the start, so a restart with the new format signs
    # tokens the registry already trusts, and the old format's tokens still verify.
    kids = {k["kid"] for k in json.loads(before[1])["keys"]}
    assert {libtrust, shown["kid"]} <= kids
    assert shown["published"] == "yes"


def test_an_old_single_kid_jwks_is_refused_at_start_until_published(
    cli: Cli, tmp_path: Path, env: dict[str, str]
) -> None:
    cli.env["REGAUTH_KEYS_X5C"] = "false"
    jwks = cli.ok("keys", "export", "--format", "jwks").json()
    # What regauth published before both formats were listed: the libtrust kid alone.
    old = {"keys": [k for k in jwks["keys"] if ":" in k["kid"]]}
    (tmp_path / "keys" / "jwks.json").write_text(json.dumps(old))
    cli.env["REGAUTH_KEYS_KID_FORMAT"] = "jwk-thumbprint"
    shown = cli.ok("keys", "show", "--json").json()
    assert "does not list kid" in shown["published"]
    config = load_config(None, cli.env)
    with pytest.raises(ConfigError, match="regauth keys publish"):
        open_runtime(config, clock=cli.clock, serving=True)
    assert json.loads((tmp_path / "keys" / "jwks.json").read_text()) == old  # untouched
    cli.ok("keys", "publish")
    assert cli.ok("keys", "show", "--json").json()["published"] == "yes"
    open_runtime(config, clock=cli.clock, serving=True).close()
    [event] = cli.audit("keys.publish")
    # Named by its libtrust kid in the audit trail: a thumbprint looks like a secret to a scanner.
    assert event["target"] == shown["libtrust_kid"]


# --- staged rotation --------------------------------------------------------------------


def test_staged_rotation_stage_activate_retire(cli: Cli, tmp_path: Path) -> None:
    old = cli.ok("keys", "show", "--json").json()["kid"]
    cli.env["REGAUTH_KEYS_ALGORITHM"] = "RS256"
    cli.clock.advance(60)
    staged_at = cli.clock()
    result = cli.ok("keys", "rotate", "--stage")
    new = result.out.strip()
    assert "reload (restart) the registry" in result.err and "regauth keys activate" in result.err
    shown = cli.ok("keys", "show", "--json").json()
    # Published, not signing: the old key signs, the registry can be reloaded to trust both.
    assert (shown["kid"], shown["staged_kid"]) == (old, new)
    assert [(k["state"], k["kid"], k["algorithm"]) for k in shown["keys"]] == [
        ("active", old, "ES256"),
        ("staged", new, "RS256"),
    ]
    assert shown["keys"][1]["since"] == rfc3339(staged_at)
    assert len(bundle(tmp_path)) == 2
    assert algorithms(cli) == ["ES256", "RS256"]
    refused = cli("keys", "rotate", "--stage")
    assert refused.code == EXIT_ERROR and "staged already" in refused.err
    cli.ok("user", "list")  # a configured RS256 with an ES256 signing key: a rotation under way

    cli.clock.advance(120)
    activated_at = cli.clock()
    activated = cli.ok("keys", "activate")
    assert activated.out.strip() == new
    retire_after = activated_at + 300 + 300  # ttl_seconds + margin
    assert f"after {rfc3339(retire_after)}" in activated.err
    shown = cli.ok("keys", "show", "--json").json()
    assert (shown["kid"], shown["algorithm"], shown["staged_kid"]) == (new, "RS256", None)
    assert shown["signing_since"] == rfc3339(activated_at)
    assert [(k["state"], k["kid"], k["since"], k["retire_after"]) for k in shown["keys"]] == [
        ("active", new, rfc3339(activated_at), None),
        ("previous", old, rfc3339(activated_at), rfc3339(retire_after)),
    ]
    assert algorithms(cli) == ["RS256", "ES256"]
    assert len(bundle(tmp_path)) == 2  # activation publishes nothing new
    again = cli("keys", "activate")
    assert again.code == EXIT_ERROR and "no key is staged" in again.err

    early = cli("keys", "retire")
    assert early.code == EXIT_ERROR and f"after {rfc3339(retire_after)}" in early.err
    cli.clock.advance(retire_after - cli.clock() - 1)
    assert cli("keys", "retire").code == EXIT_ERROR
    cli.clock.advance(1)
    assert cli.ok("keys", "retire").out.split() == [old]
    shown = cli.ok("keys", "show", "--json").json()
    assert [k["state"] for k in shown["keys"]] == ["active"]
    assert bundle(tmp_path) == [
        x509.load_pem_x509_certificate((tmp_path / "keys" / "signing-cert.pem").read_bytes())
    ]
    assert algorithms(cli) == ["RS256"]
    assert cli.ok("keys", "retire").err.startswith("# no previous keys")
    assert [e["target"] for e in cli.audit("keys.stage")] == [new]
    [event] = cli.audit("keys.activate")
    assert (event["target"], event["details"]["previous_kid"]) == (new, old)
    assert [e["target"] for e in cli.audit("keys.retire")] == [old]


def test_retire_with_a_shorter_margin(cli: Cli) -> None:
    cli.ok("keys", "show")
    cli.ok("keys", "rotate", "--stage")
    cli.ok("keys", "activate")
    cli.clock.advance(300 + 60)
    assert cli("keys", "retire").code == EXIT_ERROR
    assert len(cli.ok("keys", "retire", "--margin", "60").out.split()) == 1
    too_short = cli("keys", "retire", "--margin", "59")
    assert too_short.code == EXIT_USAGE and "at least 60" in too_short.err


def test_activate_refuses_a_staged_key_the_registry_files_do_not_trust(
    cli: Cli, tmp_path: Path
) -> None:
    cli.ok("keys", "show")
    signing = (tmp_path / "keys" / "signing-cert.pem").read_bytes()
    cli.ok("keys", "rotate", "--stage")
    (tmp_path / "keys" / "rootcertbundle.pem").write_bytes(signing)  # hand-edited, say
    refused = cli("keys", "activate")
    assert refused.code == EXIT_ERROR and "regauth keys publish" in refused.err
    assert (tmp_path / "keys" / "signing-cert.pem").read_bytes() == signing
    cli.ok("keys", "publish")
    cli.ok("keys", "activate")


def test_help_gives_defaults(cli: Cli) -> None:
    for argv, expected in [
        (["keys", "rotate", "--help"], "default: off"),
        (["keys", "retire", "--help"], "default: 300"),
        (["keys", "export", "--help"], "default: pem"),
        (["registry-config", "--help"], "default: 2"),
    ]:
        result = cli(*argv)
        assert result.code == 0 and expected in " ".join(result.out.split()), argv
