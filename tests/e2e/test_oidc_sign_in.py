"""OpenID Connect sign-in end to end: a real headless Chromium (Debian's) signs in on regauth's
page through the real OpenID Provider's login page (oidc-provider from npm,
tests/support/oidc_provider.py), generates a personal access token there, and docker logs in
and pushes with it through a real registry. regauth is reached as `localhost` and the provider
as 127.0.0.1: two sites, so the sign-in's cookie must come back on a cross-site navigation.
With `[oidc] enforce = true` the password of a linked account is refused at docker login."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import Flavour, RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.browser import chromium, screenshot
from tests.support.images import BuiltImage
from tests.support.oidc_provider import (
    OidcAccount,
    OidcProvider,
    start_oidc_provider,
)

pytestmark = pytest.mark.e2e

CALLBACK = "/ui/sign-in/oidc/callback"
ENFORCED = "single sign-on is enforced: use a personal access token"


@pytest.fixture(scope="module")
def provider() -> Iterator[OidcProvider]:
    provider = start_oidc_provider()
    yield provider
    provider.close()


@pytest.fixture(scope="module")
def sso_regauth(service_root: Path, provider: OidcProvider) -> Iterator[RegauthServer]:
    """regauth with [oidc] (enforced) for the provider's client, whose redirect URI is this
    server's callback, and a [groups] mapping that the provider's groups claim feeds."""
    server = RegauthServer(
        service_root / "regauth-oidc",
        Flavour("oidc"),
        limits={"failures_per_ip": 10_000},
        public_host="localhost",
    )
    client = provider.add_client((f"{server.public_url}{CALLBACK}",))
    secret = provider.write_client_secret(client, server.config_path.parent)
    with server.config_path.open("a") as config:
        config.write(
            "[oidc]\n"
            f'issuer = "{provider.issuer}"\n'
            f'client_id = "{client.client_id}"\n'
            f'client_secret_file = "{secret.name}"\n'  # relative to the config file
            'scopes = ["openid", "profile", "email", "groups"]\n'
            'display_name = "Acme SSO"\n'
            'allowed_groups = ["registry-users"]\n'
            "enforce = true\n"
        )
    server.start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def sso_registry(service_root: Path, sso_regauth: RegauthServer) -> Iterator[Registry]:
    registry = Registry(
        service_root / "registry-oidc", name="oidc", auth_stanza=sso_regauth.registry_auth_stanza()
    )
    registry.start()
    yield registry
    registry.stop()


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, sso_regauth: RegauthServer) -> Iterator[Page]:
    context = browser.new_context(base_url=sso_regauth.public_url)
    page = context.new_page()
    yield page
    context.close()


def _sign_in_with_sso(page: Page, provider: OidcProvider, account: OidcAccount) -> None:
    page.goto("/ui/sign-in")
    page.get_by_role("link", name="Sign in with Acme SSO").click()
    # The provider's own page, on its own site.
    expect(page.get_by_role("heading", name="Sign-in")).to_be_visible()
    assert page.url.startswith(f"{provider.issuer}/interaction/")
    page.get_by_label("Username").fill(account.login)
    page.get_by_label("Password").fill(account.password)
    page.get_by_role("button", name="Sign-in").click()
    page.get_by_role("button", name="Continue").click()  # consent to regauth's scopes


def test_sign_in_at_the_provider_then_a_token_from_the_page_pushes_with_docker(
    page: Page,
    provider: OidcProvider,
    sso_regauth: RegauthServer,
    sso_registry: Registry,
    docker: DockerClient,
    test_image: BuiltImage,
) -> None:
    account = provider.add_account(
        OidcAccount("Jane.Doe", "jane-at-the-idp", groups=("registry-users",))
    )
    page.goto("/ui/sign-in")
    screenshot(page, "sign-in-sso")
    _sign_in_with_sso(page, provider, account)
    expect(page.get_by_role("heading", name="Personal access tokens")).to_be_visible()
    # The account was made just in time, named from preferred_username.
    expect(page.get_by_text("Signed in as jane-doe")).to_be_visible()
    assert page.url == f"{sso_regauth.public_url}/ui/settings/tokens"

    page.get_by_role("link", name="Generate new token").click()
    page.get_by_label("Description").fill("ci")
    page.get_by_label("Read & Write").check()
    page.get_by_role("button", name="Generate").click()
    pat = page.get_by_label("At the password prompt, enter the personal access token").input_value()
    assert re.fullmatch(r"rgp_[0-9A-Za-z]+", pat), "no token on the page"

    login = docker.login(sso_registry.host, "jane-doe", pat)
    assert login.ok, login
    reference = sso_registry.reference("jane-doe/site")
    docker.load_as(test_image.docker_archive, test_image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed


def test_someone_outside_the_allowed_groups_is_told_so_on_the_page(
    page: Page, provider: OidcProvider
) -> None:
    account = provider.add_account(OidcAccount("outsider", "outside-pw", groups=("contractors",)))
    _sign_in_with_sso(page, provider, account)
    expect(page.get_by_role("alert")).to_contain_text("not in a group allowed")
    expect(page.get_by_role("link", name="Sign in with Acme SSO")).to_be_visible()


def test_with_sso_enforced_a_linked_accounts_password_is_refused_at_docker_login(
    provider: OidcProvider,
    sso_regauth: RegauthServer,
    sso_registry: Registry,
    docker: DockerClient,
) -> None:
    local = sso_regauth.cli.new_password_user("linked")
    account = provider.add_account(OidcAccount(local.name, "linked-at-the-idp"))
    sso_regauth.cli.check(
        "user", "link", local.name, "--oidc", account.sub, "--issuer", provider.issuer
    )
    refused = docker.login(sso_registry.host, local.name, local.password)
    assert not refused.ok, refused
    assert ENFORCED in refused.output
