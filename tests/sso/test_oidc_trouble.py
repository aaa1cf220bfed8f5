"""What goes wrong around a sign-in that is nobody's attack: a provider that is down, settings
that do not match it, answers missing a part. Each is a clear error naming what to check,
against the real provider."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from regauth.config import ConfigError
from regauth.runtime import open_runtime
from regauth.sso.errors import IdentityProviderFailed, SignOnFailed, SignOnStateMismatch
from regauth.sso.oidc import DISCOVERY_TTL_SECONDS, OidcClient
from tests.sso.conftest import RelyingParty, new_account, relying_party, settings_for
from tests.support.builders import reconfigured
from tests.support.clock import FakeClock
from tests.support.oidc_provider import (
    DEFAULT_REDIRECT_URI,
    OidcAccount,
    OidcProvider,
    start_oidc_provider,
)


async def test_a_provider_that_is_down_is_a_502_that_says_so(tmp_path: Path) -> None:
    provider = start_oidc_provider()
    rp = relying_party(provider, tmp_path)
    provider.close()
    with pytest.raises(IdentityProviderFailed, match="cannot be reached") as failed:
        await rp.client.begin(DEFAULT_REDIRECT_URI)
    assert failed.value.status == 502


@pytest.mark.parametrize(
    ("path", "says"),
    [
        ("/", "names another issuer"),  # a trailing '/' the provider's issuer does not have
        ("/elsewhere", "answered 404|not JSON"),
    ],
)
async def test_an_issuer_that_is_not_the_providers_is_named(
    oidc_provider: OidcProvider, tmp_path: Path, path: str, says: str
) -> None:
    rp = relying_party(oidc_provider, tmp_path, issuer=oidc_provider.issuer + path)
    with pytest.raises(IdentityProviderFailed, match=says):
        await rp.client.begin(DEFAULT_REDIRECT_URI)


async def test_discovery_and_keys_are_cached_and_discovery_renewed_hourly(
    oidc_provider: OidcProvider, tmp_path: Path, wall_clock: FakeClock
) -> None:
    rp = relying_party(oidc_provider, tmp_path, clock=wall_clock)
    first = await rp.client.metadata()
    keys = await rp.client.keys()
    assert await rp.client.metadata() is first
    wall_clock.advance(DISCOVERY_TTL_SECONDS)
    renewed = await rp.client.metadata()
    assert renewed is not first and renewed == first
    assert await rp.client.keys() is keys  # the same keys location: the set is kept


async def test_an_answer_without_a_code_is_refused(rp: RelyingParty, account: OidcAccount) -> None:
    pending, answer = await rp.authorize(account)
    del answer["code"]
    with pytest.raises(SignOnFailed, match="no authorization code"):
        await rp.finish(pending, answer)


async def test_a_sign_in_started_for_another_issuer_is_refused(
    rp: RelyingParty, account: OidcAccount
) -> None:
    """The issuer changed (a reload) while the person was at the provider."""
    pending, answer = await rp.authorize(account)
    moved = dataclasses.replace(pending, issuer="https://idp.example.com")
    with pytest.raises(SignOnStateMismatch, match="another identity provider"):
        await rp.finish(moved, answer)


async def test_a_username_claim_the_provider_does_not_send_says_which(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    rp = relying_party(oidc_provider, tmp_path, username_claim="nickname")
    account = new_account(oidc_provider)
    with pytest.raises(SignOnFailed, match=r"sent no 'nickname' claim.*username_claim"):
        await rp.finish(*await rp.authorize(account))


async def test_without_an_issuer_there_is_no_sign_in(
    oidc_provider: OidcProvider, tmp_path: Path
) -> None:
    settings = settings_for(oidc_provider, tmp_path)
    client = OidcClient(settings, clock=time.time)
    await client.begin(DEFAULT_REDIRECT_URI)
    # A reload that turned it off.
    settings.current = reconfigured(settings.current, oidc={"issuer": ""})
    with pytest.raises(SignOnFailed, match="not configured"):
        await client.begin(DEFAULT_REDIRECT_URI)


@pytest.mark.parametrize(("content", "says"), [(None, "cannot read"), ("\n", "is empty")])
def test_a_client_secret_file_regauth_cannot_use_stops_start_up(
    oidc_provider: OidcProvider, tmp_path: Path, content: str | None, says: str
) -> None:
    settings = settings_for(oidc_provider, tmp_path)
    secret = Path(settings.current.oidc.client_secret_file)
    if content is None:
        secret.unlink()
    else:
        secret.write_text(content)
    with pytest.raises(ConfigError, match=f"oidc.client_secret_file: .*{says}") as stopped:
        open_runtime(settings.current)
    assert oidc_provider.clients  # the secret itself is never in the message
    for client in oidc_provider.clients.values():
        assert client.client_secret not in stopped.value.message
