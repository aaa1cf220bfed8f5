"""ID tokens an attacker made, checked against the real provider's JWKS: the test signs them
(with its own key, or with none), the provider and its keys are real."""

from __future__ import annotations

import base64
import hmac
import json
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa

from regauth.sso import id_tokens
from regauth.sso.errors import IdTokenInvalid
from tests.sso.conftest import RelyingParty, relying_party
from tests.support.clock import FakeClock
from tests.support.oidc_provider import DEFAULT_CLIENT_ID, OidcProvider, start_oidc_provider

NONCE = "the-nonce-of-this-sign-in"


def claims(provider: OidcProvider, **changes: Any) -> dict[str, Any]:
    now = int(time.time())
    base = {
        "iss": provider.issuer,
        "aud": DEFAULT_CLIENT_ID,
        "sub": "1b4e28ba-2fa1-11d2-883f-0016d3cca427",
        "iat": now,
        "exp": now + 300,
        "nonce": NONCE,
    }
    return {k: v for k, v in {**base, **changes}.items() if v is not None}


def signed(provider: OidcProvider, kid: str | None = "", alg: str = "RS256", **changes: Any) -> str:
    """Signed with the provider's own key (what only the provider could make), under its kid
    unless another is given."""
    headers = {"kid": provider.kids[0] if kid == "" else kid} if kid is not None else {}
    return jwt.encode(claims(provider, **changes), provider.private_key(), alg, headers=headers)


def hs256(payload: dict[str, Any], key: bytes, kid: str) -> str:
    """By hand: pyjwt rightly refuses to HMAC with a PEM key."""
    header = {"alg": "HS256", "typ": "JWT", "kid": kid}
    signing_input = b".".join(b64(json.dumps(part).encode()) for part in (header, payload))
    return (signing_input + b"." + b64(hmac.digest(key, signing_input, "sha256"))).decode()


def b64(raw: bytes) -> bytes:
    return base64.urlsafe_b64encode(raw).rstrip(b"=")


async def verify(rp: RelyingParty, token: str, clock: Any = time.time) -> dict[str, Any]:
    expected = id_tokens.Expected(rp.provider.issuer, DEFAULT_CLIENT_ID, NONCE)
    return await id_tokens.verify(token, await rp.client.keys(), expected, clock)


async def test_a_token_the_provider_signed_is_accepted(rp: RelyingParty) -> None:
    """The baseline the refusals below differ from by one thing each."""
    assert (await verify(rp, signed(rp.provider)))["sub"].startswith("1b4e28ba")


async def test_alg_none_is_refused(rp: RelyingParty) -> None:
    unsigned = jwt.encode(claims(rp.provider), None, algorithm="none")
    with pytest.raises(IdTokenInvalid, match="asymmetric"):
        await verify(rp, unsigned)
    # ...also under the provider's kid, and with a signature part glued on.
    header = {"kid": rp.provider.kids[0]}
    unsigned = jwt.encode(claims(rp.provider), None, algorithm="none", headers=header)
    for token in (unsigned, unsigned + "c2ln"):
        with pytest.raises(IdTokenInvalid, match="asymmetric"):
            await verify(rp, token)


async def test_hmac_with_the_public_key_or_the_client_secret_is_refused(rp: RelyingParty) -> None:
    """Algorithm confusion: HS256 keyed with what the attacker knows (the published key) or
    what the client holds (its secret)."""
    public_pem = (
        rp.provider.private_key()
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    )
    secret = rp.provider.clients[DEFAULT_CLIENT_ID].client_secret.encode()
    for key in (public_pem, secret):
        with pytest.raises(IdTokenInvalid, match="asymmetric"):
            await verify(rp, hs256(claims(rp.provider), key, kid=rp.provider.kids[0]))


async def test_a_token_from_another_issuer_is_refused(rp: RelyingParty) -> None:
    """Signed with the provider's real key: only the iss is wrong."""
    with pytest.raises(IdTokenInvalid, match="another issuer"):
        await verify(rp, signed(rp.provider, iss="http://127.0.0.1:1"))
    with pytest.raises(IdTokenInvalid, match="'iss'"):
        await verify(rp, signed(rp.provider, iss=None))


@dataclass(frozen=True)
class FromNow:
    seconds: int


@pytest.mark.parametrize(
    ("changes", "says"),
    [
        ({"aud": "another-client"}, "another client"),
        ({"aud": [DEFAULT_CLIENT_ID, "another-client"]}, "authorized party"),
        ({"aud": [DEFAULT_CLIENT_ID, "x"], "azp": "x"}, "authorized party"),
        ({"azp": "another-client"}, "authorized party"),
        ({"exp": FromNow(-120)}, "expired"),
        ({"iat": FromNow(600)}, "not valid yet"),
        ({"nbf": FromNow(600)}, "not valid yet"),
        ({"exp": None}, "'exp'"),
        ({"iat": None}, "'iat'"),
        ({"sub": None}, "'sub'"),
        ({"exp": "tomorrow"}, "exp is not a number"),
        ({"nonce": None}, "nonce"),
        ({"nonce": "another-sign-in"}, "nonce"),
    ],
)
async def test_claims_that_are_not_this_sign_ins_are_refused(
    rp: RelyingParty, changes: dict[str, Any], says: str
) -> None:
    # Times from when the test runs, not from when it was collected (minutes earlier in a
    # whole run).
    now = int(time.time())
    changes = {k: now + v.seconds if isinstance(v, FromNow) else v for k, v in changes.items()}
    with pytest.raises(IdTokenInvalid, match=says):
        await verify(rp, signed(rp.provider, **changes))


async def test_several_audiences_with_regauth_as_the_authorized_party_pass(
    rp: RelyingParty,
) -> None:
    token = signed(rp.provider, aud=[DEFAULT_CLIENT_ID, "api"], azp=DEFAULT_CLIENT_ID)
    assert (await verify(rp, token))["azp"] == DEFAULT_CLIENT_ID


async def test_a_forged_signature_under_the_providers_kid_is_refused(rp: RelyingParty) -> None:
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    token = jwt.encode(claims(rp.provider), attacker, "RS256", headers={"kid": rp.provider.kids[0]})
    with pytest.raises(IdTokenInvalid, match="signature"):
        await verify(rp, token)


async def test_an_algorithm_the_key_does_not_declare_is_refused(rp: RelyingParty) -> None:
    """The provider's key says RS256: a PS256 or ES256 token under its kid finds no key."""
    with pytest.raises(IdTokenInvalid, match="does not publish"):
        await verify(rp, signed(rp.provider, alg="PS256"))
    attacker = ec.generate_private_key(ec.SECP256R1())
    token = jwt.encode(claims(rp.provider), attacker, "ES256", headers={"kid": rp.provider.kids[0]})
    with pytest.raises(IdTokenInvalid, match="does not publish"):
        await verify(rp, token)


async def test_an_unknown_kid_fetches_the_keys_once_then_is_refused(
    oidc_provider: OidcProvider, tmp_path: Path, wall_clock: FakeClock
) -> None:
    rp = relying_party(oidc_provider, tmp_path, clock=wall_clock)
    keys = await rp.client.keys()
    await verify(rp, signed(oidc_provider), wall_clock)
    assert keys.fetches == 1
    attacker = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    forged = jwt.encode(claims(oidc_provider), attacker, "RS256", headers={"kid": "attacker-1"})
    wall_clock.advance(id_tokens.JWKS_REFETCH_SECONDS)
    with pytest.raises(IdTokenInvalid, match="does not publish"):
        await verify(rp, forged, wall_clock)
    assert keys.fetches == 2  # fetched again once, in case the provider rolled its keys over
    for _ in range(5):  # more made-up kids right after: no more requests to the provider
        with pytest.raises(IdTokenInvalid, match="does not publish"):
            await verify(rp, forged, wall_clock)
    assert keys.fetches == 2


async def test_without_a_kid_only_a_single_key_will_do(tmp_path: Path) -> None:
    provider = start_oidc_provider()
    try:
        rp = relying_party(provider, tmp_path)
        assert await verify(rp, signed(provider, kid=None))
        provider.rotate_key(keep_old=True)  # two keys: which one is meant?
        rp = relying_party(provider, tmp_path)
        with pytest.raises(IdTokenInvalid, match="does not publish"):
            await verify(rp, signed(provider, kid=None))
    finally:
        provider.close()


async def test_garbage_is_not_a_jwt(rp: RelyingParty) -> None:
    for token in ("", "not.a.jwt", "eyJhbGciOiJSUzI1NiJ9", "a.b.c.d.e"):
        with pytest.raises(IdTokenInvalid):
            await verify(rp, token)
