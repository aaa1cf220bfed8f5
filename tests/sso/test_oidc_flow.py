"""regauth's OpenID Connect client against a real OpenID Provider (oidc-provider from npm): the
code flow with PKCE through the provider's real login form, and the answers it must refuse."""

from __future__ import annotations

import dataclasses
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest

from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.errors import RegauthError
from regauth.sso.errors import (
    IdentityProviderFailed,
    IdTokenInvalid,
    SignOnFailed,
    SignOnRefused,
    SignOnStateMismatch,
)
from regauth.sso.oidc import code_challenge
from tests.sso.conftest import RelyingParty, new_account, relying_party
from tests.support.clock import FakeClock
from tests.support.oidc_provider import (
    DEFAULT_REDIRECT_URI,
    OidcAccount,
    OidcProvider,
    start_oidc_provider,
)
from tests.support.oidc_provider_login import provider_browser, sign_in_at_provider


def assert_secret_free(error: RegauthError, *secrets: str) -> None:
    """Neither the message nor the body quotes what the protocol keeps secret."""
    text = f"{error.message} {error.body()}"
    for secret in secrets:
        assert secret not in text


def overwrite(path: str, text: str) -> None:
    Path(path).write_text(text)


async def test_a_sign_in_through_the_login_form_returns_the_identity(
    rp: RelyingParty, account: OidcAccount, oidc_provider: OidcProvider
) -> None:
    pending, answer = await rp.authorize(account)
    identity = await rp.finish(pending, answer)
    assert identity == ExternalIdentity(
        source=IdentitySource.OIDC,
        issuer=oidc_provider.issuer,
        subject=account.sub,
        username=account.login,
        groups=("developers", "ops"),
        display_name=account.name,
        email=account.email,
    )
    # Linked by the UUID, never by the login the person could change.
    assert identity.subject != account.login


async def test_claims_the_id_token_lacks_come_from_userinfo(tmp_path: Path) -> None:
    """With the provider's default (profile claims in userinfo only, as OIDC Core has it for
    the code flow) the identity is the same."""
    provider = start_oidc_provider(claims_in_id_token=False)
    try:
        rp = relying_party(provider, tmp_path)
        account = new_account(provider, preferred_username="Jane.Doe", groups=("admins",))
        pending, answer = await rp.authorize(account)
        identity = await rp.finish(pending, answer)
    finally:
        provider.close()
    assert (identity.subject, identity.username, identity.groups, identity.email) == (
        account.sub,
        "Jane.Doe",
        ("admins",),
        account.email,
    )


async def test_a_rename_at_the_provider_keeps_the_subject(
    rp: RelyingParty, account: OidcAccount, oidc_provider: OidcProvider
) -> None:
    first = await rp.finish(*await rp.authorize(account))
    oidc_provider.change_account(
        account.login, preferred_username="renamed", groups=("contractors",)
    )
    second = await rp.finish(*await rp.authorize(account))
    assert second.subject == first.subject == account.sub
    assert (second.username, second.groups) == ("renamed", ("contractors",))


async def test_the_authorization_request_carries_pkce_state_and_nonce(rp: RelyingParty) -> None:
    one, two = await rp.client.begin(DEFAULT_REDIRECT_URI), await rp.client.begin("x")
    query = {k: v[0] for k, v in parse_qs(urlsplit(one.url).query).items()}
    assert query == {
        "response_type": "code",
        "client_id": rp.client.config.client_id,
        "redirect_uri": DEFAULT_REDIRECT_URI,
        "scope": "openid profile email groups",
        "state": one.pending.state,
        "nonce": one.pending.nonce,
        "code_challenge": code_challenge(one.pending.code_verifier),
        "code_challenge_method": "S256",
    }
    # 256 bits each, and new for every sign-in.
    assert min(len(one.pending.state), len(one.pending.nonce)) >= 43
    assert 43 <= len(one.pending.code_verifier) <= 128
    assert one.pending.state != one.pending.nonce
    assert {one.pending.state, one.pending.nonce, one.pending.code_verifier}.isdisjoint(
        {two.pending.state, two.pending.nonce, two.pending.code_verifier}
    )


async def test_the_provider_requires_pkce(rp: RelyingParty) -> None:
    """The harness's provider is set up as the brief says: no code_challenge, no sign-in."""
    authorization = await rp.client.begin(DEFAULT_REDIRECT_URI)
    parts = urlsplit(authorization.url)
    query = "&".join(p for p in parts.query.split("&") if not p.startswith("code_challenge"))
    async with provider_browser() as browser:
        back = await sign_in_at_provider(
            browser, parts._replace(query=query).geturl(), "nobody", "nothing"
        )
    answer = parse_qs(urlsplit(back).query)
    assert answer["error"] == ["invalid_request"]
    assert "requires PKCE" in answer["error_description"][0]
    # Its answer, brought back, is a refusal naming the error (not its description).
    with pytest.raises(SignOnFailed, match=r"could not sign you in \(invalid_request\)"):
        await rp.finish(authorization.pending, {k: v[0] for k, v in answer.items()})


async def test_a_forged_state_is_refused_before_the_code_is_spent(
    rp: RelyingParty, account: OidcAccount
) -> None:
    pending, answer = await rp.authorize(account)
    for forged in (
        {**answer, "state": "forged"},
        {k: v for k, v in answer.items() if k != "state"},
    ):
        with pytest.raises(SignOnStateMismatch) as refused:
            await rp.finish(pending, forged)
        assert refused.value.status == 400
        assert_secret_free(refused.value, answer["code"], pending.state)
    # The forged answers were refused before the exchange: the code still works once.
    assert (await rp.finish(pending, answer)).subject == account.sub


async def test_a_replayed_code_is_refused_by_the_provider(
    rp: RelyingParty, account: OidcAccount
) -> None:
    pending, answer = await rp.authorize(account)
    await rp.finish(pending, answer)
    with pytest.raises(SignOnFailed) as refused:
        await rp.finish(pending, answer)
    assert refused.value.status == 400
    assert "invalid_grant" in refused.value.message
    assert_secret_free(refused.value, answer["code"], pending.code_verifier)


async def test_a_wrong_code_verifier_is_refused_by_the_provider(
    rp: RelyingParty, account: OidcAccount
) -> None:
    pending, answer = await rp.authorize(account)
    stolen = dataclasses.replace(pending, code_verifier="x" * 64)
    with pytest.raises(SignOnFailed, match="invalid_grant"):
        await rp.finish(stolen, answer)


async def test_an_id_token_with_another_nonce_is_refused(
    rp: RelyingParty, account: OidcAccount
) -> None:
    """A token the provider really issued, for another sign-in than the one this browser
    began (an injected code: OIDC Core §15.5.2)."""
    pending, answer = await rp.authorize(account)
    with pytest.raises(IdTokenInvalid, match="nonce") as refused:
        await rp.finish(dataclasses.replace(pending, nonce="another-sign-in"), answer)
    assert refused.value.status == 401
    assert_secret_free(refused.value, answer["code"])


async def test_access_denied_at_the_provider_is_a_refusal(
    rp: RelyingParty, account: OidcAccount
) -> None:
    pending, answer = await rp.authorize(account, decline=True)
    assert answer["error"] == "access_denied"
    with pytest.raises(SignOnRefused, match=r"access_denied") as refused:
        await rp.finish(pending, answer)
    assert refused.value.status == 403
    assert "End-User" not in refused.value.message  # the description is not echoed


async def test_an_answer_naming_another_issuer_is_refused(
    rp: RelyingParty, account: OidcAccount
) -> None:
    """RFC 9207: the provider names itself in its answer (a mix-up attack shows there)."""
    pending, answer = await rp.authorize(account)
    for iss in ({"iss": "http://127.0.0.1:1"}, {}):
        mixed = {**{k: v for k, v in answer.items() if k != "iss"}, **iss}
        with pytest.raises(SignOnFailed, match="not from the configured identity provider"):
            await rp.finish(pending, mixed)


async def test_a_wrong_client_secret_is_the_configurations_fault(
    oidc_provider: OidcProvider, account: OidcAccount, tmp_path: Path
) -> None:
    rp = relying_party(oidc_provider, tmp_path)
    pending, answer = await rp.authorize(account)
    overwrite(rp.client.config.client_secret_file, "not-the-secret\n")
    with pytest.raises(IdentityProviderFailed, match="client_secret_file") as failed:
        await rp.finish(pending, answer)
    assert failed.value.status == 502


async def test_client_secret_post_when_the_provider_takes_only_that(tmp_path: Path) -> None:
    provider = start_oidc_provider()
    try:
        provider.auth_methods = ["client_secret_post"]
        client = provider.add_client(auth_method="client_secret_post")  # restarts it
        rp = relying_party(provider, tmp_path, client_id=client.client_id)
        account = new_account(provider)
        identity = await rp.finish(*await rp.authorize(account))
    finally:
        provider.close()
    assert identity.subject == account.sub


async def test_the_provider_rotating_its_key_is_followed(
    tmp_path: Path, wall_clock: FakeClock
) -> None:
    provider = start_oidc_provider()
    try:
        rp = relying_party(provider, tmp_path, clock=wall_clock)
        account = new_account(provider)
        await rp.finish(*await rp.authorize(account))
        keys = await rp.client.keys()
        assert keys.fetches == 1
        provider.rotate_key()  # a restart with a new key, the old one gone from the JWKS
        account = new_account(provider)
        # Right after a fetch, an unknown kid does not fetch again (a flood of made-up kids
        # must not become a flood of requests to the provider)...
        with pytest.raises(IdTokenInvalid, match="does not publish"):
            await rp.finish(*await rp.authorize(account))
        assert keys.fetches == 1
        # ...a little later it does, once, and the new key verifies.
        wall_clock.advance(11)
        identity = await rp.finish(*await rp.authorize(account))
        assert keys.fetches == 2
    finally:
        provider.close()
    assert identity.subject == account.sub
