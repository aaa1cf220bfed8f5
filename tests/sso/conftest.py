"""Fixtures of the identity-provider adapters' tests: regauth's OpenID Connect client set up for
the session's real OpenID Provider (tests/support/oidc_provider.py), and accounts there."""

from __future__ import annotations

import secrets
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from regauth.config import LiveConfig
from regauth.domain.clock import Clock
from regauth.sso.oidc import OidcClient, PendingSignIn
from tests.support.builders import make_config
from tests.support.clock import FakeClock
from tests.support.oidc_provider import (
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    OidcAccount,
    OidcProvider,
)
from tests.support.oidc_provider_login import provider_browser, sign_in_at_provider

SCOPES = ("openid", "profile", "email", "groups")


def settings_for(
    provider: OidcProvider,
    directory: Path,
    client_id: str = DEFAULT_CLIENT_ID,
    **oidc: Any,
) -> LiveConfig:
    """regauth's config with [oidc] set for `provider`'s client, its secret in a file."""
    secret_file = provider.write_client_secret(provider.clients[client_id], directory)
    section = {
        "issuer": provider.issuer,
        "client_id": client_id,
        "client_secret_file": str(secret_file),
        "scopes": SCOPES,
        **oidc,
    }
    return LiveConfig(make_config(directory, oidc=section))


def new_account(provider: OidcProvider, **claims: Any) -> OidcAccount:
    """A person at the provider, with a login of their own and a UUID `sub`."""
    login = f"user-{secrets.token_hex(4)}"
    defaults: dict[str, Any] = {
        "email": f"{login}@example.com",
        "name": f"User {login}",
        "groups": ("developers", "ops"),
    }
    return provider.add_account(
        OidcAccount(login, f"pw-{secrets.token_urlsafe(12)}", **{**defaults, **claims})
    )


def answer_of(url: str) -> dict[str, str]:
    """The query of the provider's redirect back to regauth."""
    assert url.startswith(DEFAULT_REDIRECT_URI.split("?")[0]), url
    return dict(parse_qsl(urlsplit(url).query))


@dataclass
class RelyingParty:
    """regauth's client, and a person's browser at the provider."""

    client: OidcClient
    provider: OidcProvider

    async def authorize(
        self, account: OidcAccount, *, decline: bool = False
    ) -> tuple[PendingSignIn, dict[str, str]]:
        """A sign-in up to the provider's answer: what regauth kept, and what came back."""
        authorization = await self.client.begin(DEFAULT_REDIRECT_URI)
        async with provider_browser() as browser:
            back = await sign_in_at_provider(
                browser, authorization.url, account.login, account.password, decline=decline
            )
        return authorization.pending, answer_of(back)

    async def finish(self, pending: PendingSignIn, answer: Mapping[str, str]) -> Any:
        return await self.client.finish(pending, answer)


def relying_party(
    provider: OidcProvider, directory: Path, *, clock: Clock = time.time, **oidc: Any
) -> RelyingParty:
    client_id = oidc.pop("client_id", DEFAULT_CLIENT_ID)
    settings = settings_for(provider, directory, client_id, **oidc)
    return RelyingParty(OidcClient(settings, clock=clock), provider)


@pytest.fixture
def rp(oidc_provider: OidcProvider, tmp_path: Path) -> RelyingParty:
    return relying_party(oidc_provider, tmp_path)


@pytest.fixture
def account(oidc_provider: OidcProvider) -> OidcAccount:
    return new_account(oidc_provider)


@pytest.fixture
def wall_clock() -> FakeClock:
    """A clock a test moves by hand, starting now (the provider's tokens carry real times)."""
    return FakeClock(time.time())
