"""The pure parts of OpenID Connect sign-in: which algorithms a key may verify, the PKCE
challenge, a groups claim as names, an e-mail name only when verified, and the [oidc]
settings' checks."""

from __future__ import annotations

from pathlib import Path

import pytest

from regauth.config import ConfigError, load_config
from regauth.sso.errors import SignOnRefused
from regauth.sso.id_tokens import algorithms_of
from regauth.sso.oidc import code_challenge
from regauth.sso.oidc_claims import groups_of, identity, lacks

RSA = {"kty": "RSA", "n": "...", "e": "AQAB"}


@pytest.mark.parametrize(
    ("jwk", "algorithms"),
    [
        (RSA, {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512"}),
        ({**RSA, "alg": "RS256"}, {"RS256"}),
        ({**RSA, "alg": "PS384", "use": "sig"}, {"PS384"}),
        ({**RSA, "use": "enc"}, set()),  # an encryption key verifies nothing
        ({**RSA, "alg": "HS256"}, set()),  # a declared alg of another kind is not believed
        ({**RSA, "alg": "none"}, set()),
        ({"kty": "EC", "crv": "P-256"}, {"ES256"}),
        ({"kty": "EC", "crv": "P-384", "alg": "ES384"}, {"ES384"}),
        ({"kty": "EC", "crv": "P-256", "alg": "ES512"}, set()),  # curve and alg disagree
        ({"kty": "EC", "crv": "P-521"}, {"ES512"}),
        ({"kty": "EC"}, set()),
        ({"kty": "OKP", "crv": "Ed25519"}, {"EdDSA"}),
        ({"kty": "OKP", "crv": "X25519"}, set()),
        ({"kty": "oct", "k": "c2VjcmV0"}, set()),  # never a symmetric key
        ({"kty": "oct", "k": "c2VjcmV0", "alg": "HS256"}, set()),
        ({}, set()),
        ({"kty": 3}, set()),
    ],
)
def test_the_algorithms_a_key_may_verify(jwk: dict[str, object], algorithms: set[str]) -> None:
    assert algorithms_of(jwk) == algorithms


def test_the_pkce_challenge_is_rfc_7636s() -> None:
    # RFC 7636, appendix B.
    verifier = "dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"
    assert code_challenge(verifier) == "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"


@pytest.mark.parametrize(
    ("claim", "groups"),
    [
        (["dev", "ops"], ("dev", "ops")),
        (["dev", "dev", "ops"], ("dev", "ops")),  # once each, in order
        ("dev", ("dev",)),  # a provider that gives a single group as a string
        ("", ()),
        ([], ()),
        (None, ()),
        (["dev", 7, None, {"name": "x"}, ""], ("dev",)),  # what is not a name is left out
        ({"dev": True}, ()),
        (42, ()),
    ],
)
def test_a_groups_claim_as_names(claim: object, groups: tuple[str, ...]) -> None:
    assert groups_of(claim) == groups


@pytest.mark.parametrize(
    ("verified", "named"),
    [
        (True, True),
        (False, False),
        (None, False),  # absent: not verified (Entra ID never sends it)
        ("true", False),  # OIDC Core §5.1: a boolean; nothing else is taken for one
        (1, False),
    ],
)
def test_an_e_mail_address_names_an_account_only_when_verified(
    verified: object, named: bool
) -> None:
    config = load_config(None, oidc_env(username_claim="email")).oidc
    claims = {"sub": "s-1", "email": "frank@corp.example", "groups": []}
    if verified is not None:
        claims["email_verified"] = verified
    if named:
        assert identity("https://idp.example.com", claims, config).username == "frank@corp.example"
    else:
        with pytest.raises(SignOnRefused, match="e-mail address"):
            identity("https://idp.example.com", claims, config)
    # An ID token without it asks userinfo for it, as for any claim regauth needs.
    assert lacks({"sub": "s-1", "email": "f@x", "groups": []}, config)
    # Another username_claim needs no email_verified (the provider's username is its own).
    other = load_config(None, oidc_env()).oidc
    assert not lacks({"sub": "s-1", "preferred_username": "f", "groups": []}, other)
    assert identity("https://idp.example.com", {**claims, "preferred_username": "f"}, other)


def oidc_env(**keys: str) -> dict[str, str]:
    base = {
        "issuer": "https://idp.example.com/realms/acme",
        "client_id": "regauth",
        "client_secret_file": "/run/secrets/oidc",
    }
    return {f"REGAUTH_OIDC_{k.upper()}": v for k, v in {**base, **keys}.items() if v is not None}


def test_oidc_is_off_by_default_and_on_with_an_issuer() -> None:
    assert not load_config(None, {}).oidc.enabled
    config = load_config(None, oidc_env(scopes="openid,profile,groups"))
    assert config.oidc.enabled
    assert config.oidc.scopes == ("openid", "profile", "groups")
    assert (config.oidc.username_claim, config.oidc.groups_claim) == (
        "preferred_username",
        "groups",
    )


@pytest.mark.parametrize(
    ("keys", "says"),
    [
        ({"issuer": "http://idp.example.com"}, "https://"),
        ({"issuer": "ftp://idp.example.com"}, "https://"),
        ({"issuer": "https://"}, "https://"),
        ({"issuer": "idp.example.com"}, "https://"),
        ({"issuer": "https://idp.example.com:port"}, "https://"),
        ({"issuer": "https://idp.example.com/?tenant=1"}, "query"),
        ({"issuer": "https://idp.example.com/#x"}, "query"),
        ({"client_id": None}, "oidc.client_id: required"),
        ({"client_secret_file": None}, "oidc.client_secret_file: required"),
        ({"username_claim": ""}, "oidc.username_claim: required"),
        ({"scopes": "profile,email"}, "must include 'openid'"),
    ],
)
def test_bad_oidc_settings_name_their_key(keys: dict[str, str | None], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(None, oidc_env(**keys))  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "issuer", ["http://127.0.0.1:8080", "http://localhost/x", "http://[::1]:9"]
)
def test_plain_http_is_allowed_to_a_provider_on_this_host(issuer: str) -> None:
    assert load_config(None, oidc_env(issuer=issuer)).oidc.issuer == issuer


def test_the_client_secret_file_is_relative_to_the_config_file(tmp_path: Path) -> None:
    path = tmp_path / "regauth.toml"
    path.write_text(
        '[oidc]\nissuer = "https://idp.example.com"\nclient_id = "regauth"\n'
        'client_secret_file = "secrets/oidc"\n'
    )
    assert load_config(path, {}).oidc.client_secret_file == str(tmp_path / "secrets" / "oidc")
    from_env = {"REGAUTH_OIDC_CLIENT_SECRET_FILE": "elsewhere"}
    assert load_config(path, from_env).oidc.client_secret_file == "elsewhere"
