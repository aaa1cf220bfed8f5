"""Sign in with the OpenID Provider on the web page, through the real app and the real provider
(oidc-provider from npm): its login form is driven over HTTP, its answer delivered to the app
as the browser would, and every refusal is the sign-in page with a reason and a 4xx."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from aiohttp import ClientResponse
from pytest_aiohttp import AiohttpClient

from regauth.config import Config
from regauth.domain.models import CLI_ACTOR
from regauth.runtime import Runtime, open_runtime
from regauth.web.app import SIGN_ON_SECONDS, create_site
from regauth.web.handlers.oidc import COOKIE
from tests.sso.conftest import SCOPES, new_account
from tests.support.builders import (
    Client,
    add_org,
    add_scim_key,
    add_user,
    make_config,
    reconfigured,
)
from tests.support.clock import FakeClock
from tests.support.oidc_provider import (
    DEFAULT_CLIENT_ID,
    DEFAULT_REDIRECT_URI,
    OidcAccount,
    OidcProvider,
)
from tests.support.oidc_provider_login import provider_browser, sign_in_at_provider
from tests.web.conftest import Visitor

ALLOWED = "registry-users"


@pytest.fixture
def clock() -> FakeClock:
    # The provider's tokens carry the real time.
    return FakeClock(time.time())


@pytest.fixture
def config(tmp_path: Path, contract_database: str | None, oidc_provider: OidcProvider) -> Config:
    secret = oidc_provider.write_client_secret(oidc_provider.clients[DEFAULT_CLIENT_ID], tmp_path)
    config = make_config(
        tmp_path,
        oidc={
            "issuer": oidc_provider.issuer,
            "client_id": DEFAULT_CLIENT_ID,
            "client_secret_file": str(secret),
            "scopes": SCOPES,
            "display_name": "Acme SSO",
        },
        groups={"mappings": ("developers=acme/dev",)},
    )
    assert f"{config.server.public_url}/ui/sign-in/oidc/callback" == DEFAULT_REDIRECT_URI
    if contract_database is not None:
        config = reconfigured(config, storage={"url": contract_database})
    return config


@pytest.fixture
def acme(runtime: Runtime) -> None:
    add_user(runtime, "owner", None)
    org = add_org(runtime, "acme", "owner")
    runtime.organizations.create_team(org, "dev", "", CLI_ACTOR)


@pytest.fixture
def person(oidc_provider: OidcProvider) -> OidcAccount:
    return new_account(oidc_provider, groups=("developers", ALLOWED))


async def start(visitor: Visitor) -> str:
    """The button's link: the provider's authorization URL."""
    response = await visitor.client.get("/ui/sign-in/oidc", allow_redirects=False)
    assert response.status == 303, await response.text()
    return response.headers["Location"]


async def at_provider(authorization_url: str, account: OidcAccount, **options: bool) -> str:
    """The person at the provider's pages; the path and query it sends the browser back to."""
    async with provider_browser() as browser:
        back = await sign_in_at_provider(
            browser, authorization_url, account.login, account.password, **options
        )
    assert back.startswith(DEFAULT_REDIRECT_URI), back
    parts = urlsplit(back)
    return f"{parts.path}?{parts.query}"


async def come_back(visitor: Visitor, path_and_query: str) -> ClientResponse:
    response = await visitor.client.get(path_and_query, allow_redirects=True)
    visitor.text = await response.text()
    return response


async def sign_on(visitor: Visitor, account: OidcAccount, **options: bool) -> ClientResponse:
    return await come_back(visitor, await at_provider(await start(visitor), account, **options))


async def test_the_sign_in_page_has_the_button(visitor: Visitor) -> None:
    await visitor.get("/sign-in")
    assert 'href="/ui/sign-in/oidc">Sign in with Acme SSO</a>' in visitor.text


async def test_without_oidc_there_is_no_button_and_no_start(
    tmp_path: Path, clock: FakeClock, aiohttp_client: AiohttpClient
) -> None:
    runtime = open_runtime(make_config(tmp_path / "plain"), clock=clock)
    try:
        client = await aiohttp_client(create_site(runtime))
        page = await (await client.get("/ui/sign-in")).text()
        assert "Sign in with" not in page
        assert (await client.get("/ui/sign-in/oidc", allow_redirects=False)).status == 404
    finally:
        runtime.close()


async def test_a_first_sign_in_makes_the_account_and_opens_the_tokens_page(
    visitor: Visitor, runtime: Runtime, person: OidcAccount, acme: None
) -> None:
    response = await sign_on(visitor, person)
    assert (response.status, response.url.path) == (200, "/ui/settings/tokens")
    assert f"Signed in as <strong>{person.login}</strong>" in visitor.text
    user = runtime.users.get(person.login)
    assert user.linked
    [identity] = runtime.provisioning.identities(person.login)
    assert (identity.subject, identity.issuer) == (person.sub, runtime.config.oidc.issuer)
    # Its "developers" group made it a member of acme/dev (the [groups] mapping).
    memberships = runtime.store.memberships_of(user.id)
    assert {(m.org, m.team) for m in memberships} >= {("acme", "dev")}
    # The session is a full one (not the read-only session of a token): it can make a token.
    await visitor.get("/settings/tokens/new")
    assert "read-only" not in visitor.text


async def test_a_rename_at_the_provider_signs_in_the_same_account(
    visitor: Visitor, runtime: Runtime, person: OidcAccount, oidc_provider: OidcProvider
) -> None:
    await sign_on(visitor, person)
    await visitor.post("/sign-out")
    oidc_provider.change_account(person.login, preferred_username="someone-else")
    response = await sign_on(visitor, person)
    assert response.url.path == "/ui/settings/tokens"
    assert f"Signed in as <strong>{person.login}</strong>" in visitor.text
    assert [u.name for u in runtime.users.list() if u.linked] == [person.login]


async def test_a_forged_state_is_refused_and_makes_no_account(
    visitor: Visitor, runtime: Runtime, person: OidcAccount
) -> None:
    back = await at_provider(await start(visitor), person)
    forged = back.replace("state=", "state=forged", 1)
    response = await come_back(visitor, forged)
    assert (response.status, response.url.path) == (400, "/ui/sign-in/oidc/callback")
    assert "does not belong to a sign-in started in this browser" in visitor.text
    assert 'id="password"' in visitor.text  # the sign-in page, to start again
    assert not [u for u in runtime.users.list() if u.linked]


async def test_an_answer_carried_to_another_browser_is_refused(
    visitor: Visitor, runtime: Runtime, person: OidcAccount
) -> None:
    """Login CSRF: an attacker's own answer (their code and state) sent to a victim's browser
    does not sign the victim in as the attacker: the sealed sign-in is bound to the browser
    that started it."""
    back = await at_provider(await start(visitor), person)
    jar = visitor.client.session.cookie_jar
    sealed = jar.filter_cookies(visitor.client.make_url(back))[COOKIE].value
    jar.clear()  # the victim's browser: a page cookie of its own
    await visitor.get("/sign-in")
    response = await come_back(visitor, back)
    assert response.status == 400
    assert "does not belong to a sign-in started in this browser" in visitor.text
    # ...not even with the attacker's sealed cookie copied over: it is bound to their browser.
    jar.update_cookies({COOKIE: sealed}, visitor.client.make_url(back))
    response = await come_back(visitor, back)
    assert response.status == 400
    assert not [u for u in runtime.users.list() if u.linked]


async def test_a_replayed_answer_is_refused(visitor: Visitor, person: OidcAccount) -> None:
    back = await at_provider(await start(visitor), person)
    assert (await come_back(visitor, back)).url.path == "/ui/settings/tokens"
    response = await come_back(visitor, back)
    assert response.status == 400  # the sealed sign-in went with the first answer
    assert "start again" in visitor.text


async def test_a_sign_in_that_took_too_long_is_refused(
    visitor: Visitor, person: OidcAccount, clock: FakeClock
) -> None:
    back = await at_provider(await start(visitor), person)
    clock.advance(SIGN_ON_SECONDS + 1)
    response = await come_back(visitor, back)
    assert response.status == 400
    assert "took too long" in visitor.text


async def test_access_denied_at_the_provider_is_the_sign_in_page(
    visitor: Visitor, runtime: Runtime, person: OidcAccount
) -> None:
    response = await sign_on(visitor, person, decline=True)
    assert response.status == 403
    assert "The identity provider did not sign you in (access_denied)." in visitor.text
    assert not [u for u in runtime.users.list() if u.linked]


async def test_someone_outside_the_allowed_groups_is_refused_and_gets_no_account(
    visitor: Visitor, runtime: Runtime, oidc_provider: OidcProvider
) -> None:
    outsider = new_account(oidc_provider, groups=("contractors",))
    insider = new_account(oidc_provider, groups=("Registry-Users",))  # without case
    runtime.settings.current = reconfigured(runtime.config, oidc={"allowed_groups": (ALLOWED,)})
    response = await sign_on(visitor, outsider)
    assert response.status == 403
    assert "not in a group allowed to use this registry" in visitor.text
    assert outsider.login not in {u.name for u in runtime.users.list()}
    response = await sign_on(visitor, insider)
    assert response.url.path == "/ui/settings/tokens"


async def test_a_look_alike_group_name_is_not_the_group(
    visitor: Visitor, runtime: Runtime, oidc_provider: OidcProvider, acme: None
) -> None:
    """Found from outside: group names compared with `str.casefold`, which turns U+017F (the long
    s) into `s`. Now ASCII letters only compare without case: neither allowed_groups nor a
    [groups] mapping takes a look-alike for the group."""
    runtime.settings.current = reconfigured(runtime.config, oidc={"allowed_groups": (ALLOWED,)})
    outsider = new_account(oidc_provider, groups=("registry-user\u017f", "developers"))
    response = await sign_on(visitor, outsider)
    assert response.status == 403
    assert "not in a group allowed to use this registry" in visitor.text
    insider = new_account(oidc_provider, groups=(ALLOWED.upper(), "developer\u017f"))
    response = await sign_on(visitor, insider)
    assert response.url.path == "/ui/settings/tokens"
    assert runtime.store.memberships_of(runtime.users.get(insider.login).id) == []


async def test_a_name_taken_by_a_local_account_is_refused_with_the_admins_way_out(
    visitor: Visitor, runtime: Runtime, oidc_provider: OidcProvider
) -> None:
    person = new_account(oidc_provider)
    add_user(runtime, person.login, None)  # someone else's local account, same name
    response = await sign_on(visitor, person)
    assert response.status == 409
    assert f"regauth user link {person.login} --oidc {person.sub}" in visitor.text
    assert not runtime.users.get(person.login).linked


async def test_a_disabled_account_is_refused(
    visitor: Visitor, runtime: Runtime, person: OidcAccount
) -> None:
    await sign_on(visitor, person)
    await visitor.post("/sign-out")
    runtime.users.set_disabled(person.login, CLI_ACTOR, True)
    response = await sign_on(visitor, person)
    assert response.status == 401
    assert "Account is disabled." in visitor.text
    assert "WWW-Authenticate" not in response.headers  # no browser password prompt


async def test_the_sign_in_cookie_is_sealed_short_lived_and_for_the_callback_only(
    visitor: Visitor,
) -> None:
    response = await visitor.client.get("/ui/sign-in/oidc", allow_redirects=False)
    cookie = response.cookies[COOKIE]
    assert cookie["path"] == "/ui/sign-in/oidc/callback"
    assert cookie["httponly"] and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == SIGN_ON_SECONDS
    # Sealed: neither the state, the nonce nor the PKCE verifier can be read from it.
    query = dict(p.split("=", 1) for p in urlsplit(response.headers["Location"]).query.split("&"))
    assert query["state"] not in cookie.value and query["nonce"] not in cookie.value


@pytest.mark.parametrize(
    "query",
    ["", "?code=x", "?state=a&state=b", "?error=%ff", "?code=%00&state=%C3%28"],
)
async def test_a_callback_with_bad_input_is_a_clear_400(visitor: Visitor, query: str) -> None:
    await start(visitor)
    response = await come_back(visitor, f"/ui/sign-in/oidc/callback{query}")
    assert response.status == 400, visitor.text
    assert 'id="password"' in visitor.text or "Bad request" in visitor.text


async def test_with_single_sign_on_enforced_the_password_form_points_at_the_button(
    runtime: Runtime, visitor: Visitor
) -> None:
    """A linked account's password is refused with what to do instead; an unlinked local
    account (a break-glass admin) still signs in with its password."""
    from regauth.domain.identities import IdentitySource

    add_user(runtime, "jane")
    add_user(runtime, "breakglass")
    runtime.provisioning.link("jane", IdentitySource.OIDC, "https://x.example", "s-1", CLI_ACTOR)
    runtime.settings.current = reconfigured(runtime.settings.current, oidc={"enforce": True})
    response = await visitor.sign_in("jane")
    assert response.status == 401
    assert "Single sign-on is enforced: use Sign in with Acme SSO." in visitor.text
    assert (await visitor.sign_in("breakglass")).status == 200


# -- accounts SCIM made ----------------------------------------------------------------------


async def scim_user(runtime: Runtime, client: Client, user_name: str, **attributes: Any) -> str:
    """A User the company's provisioner makes (POST /scim/v2/Users): its resource id."""
    body = {"schemas": ["urn:ietf:params:scim:schemas:core:2.0:User"], "userName": user_name}
    response = await client.post(
        "/scim/v2/Users", json={**body, **attributes}, headers=add_scim_key(runtime)
    )
    made = await response.json(content_type=None)
    assert response.status == 201, made
    scim_id: str = made["id"]
    return scim_id


def sources_of(runtime: Runtime, name: str) -> set[str]:
    return {i.source for i in runtime.provisioning.identities(name)}


async def test_an_account_scim_made_is_linked_only_to_a_sign_in_under_its_user_name(
    visitor: Visitor, runtime: Runtime, oidc_provider: OidcProvider
) -> None:
    """Found from outside: the first sign-in whose claim reduced to a SCIM-made account's name
    was linked to it (its repositories, teams and owner roles). Only the userName SCIM holds
    now, in full and without ASCII case, is the person the provisioner vouched for."""
    await scim_user(runtime, visitor.client, "bob.smith@corp.example")
    assert sources_of(runtime, "bob-smith") == {"scim"}
    stranger = new_account(oidc_provider, preferred_username="Bob_Smith@contractor.example")
    response = await sign_on(visitor, stranger)
    assert response.status == 409
    assert f"regauth user link bob-smith --oidc {stranger.sub}" in visitor.text
    assert sources_of(runtime, "bob-smith") == {"scim"}

    bob = new_account(oidc_provider, preferred_username="Bob.Smith@corp.example")
    response = await sign_on(visitor, bob)
    assert response.url.path == "/ui/settings/tokens"
    assert "Signed in as <strong>bob-smith</strong>" in visitor.text
    assert sources_of(runtime, "bob-smith") == {"scim", "oidc"}


async def test_after_a_scim_rename_only_the_new_user_name_signs_in_to_the_account(
    visitor: Visitor, runtime: Runtime, oidc_provider: OidcProvider
) -> None:
    scim_id = await scim_user(runtime, visitor.client, "carl@corp.example")
    response = await visitor.client.patch(
        f"/scim/v2/Users/{scim_id}",
        json={
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:PatchOp"],
            "Operations": [{"op": "replace", "path": "userName", "value": "carlos@corp.example"}],
        },
        headers=add_scim_key(runtime),
    )
    assert response.status == 200, await response.text()
    # The account stays carl; neither its old name nor the old userName is the person now.
    for claim in ("carl", "carl@corp.example"):
        response = await sign_on(visitor, new_account(oidc_provider, preferred_username=claim))
        assert response.status == 409, claim
    assert sources_of(runtime, "carl") == {"scim"}
    carlos = new_account(oidc_provider, preferred_username="carlos@corp.example")
    response = await sign_on(visitor, carlos)
    assert "Signed in as <strong>carl</strong>" in visitor.text
    assert sources_of(runtime, "carl") == {"scim", "oidc"}
    assert runtime.store.get_user("carlos") is None  # linked, not a second account


@pytest.mark.parametrize(
    ("verified", "says"),
    [
        (False, "says your e-mail address is not verified"),
        (None, "does not say that your e-mail address is verified"),
    ],
)
async def test_an_e_mail_address_the_provider_has_not_verified_names_no_account(
    visitor: Visitor,
    runtime: Runtime,
    oidc_provider: OidcProvider,
    verified: bool | None,
    says: str,
) -> None:
    """Found from outside: with username_claim = "email", an address anyone can put in their
    profile at the provider (email_verified false) signed in to the account SCIM made for it.
    An address names or links an account only when the provider says it verified it; a
    provider that sends no email_verified is taken as not having verified it."""
    runtime.settings.current = reconfigured(runtime.config, oidc={"username_claim": "email"})
    await scim_user(runtime, visitor.client, "frank@corp.example")
    unverified = new_account(oidc_provider, email="frank@corp.example", email_verified=verified)
    response = await sign_on(visitor, unverified)
    assert response.status == 403
    assert says in visitor.text
    assert sources_of(runtime, "frank") == {"scim"}
    # Nor does it make a new account under a name nobody holds yet.
    nobody = new_account(oidc_provider, email="nobody@corp.example", email_verified=verified)
    assert (await sign_on(visitor, nobody)).status == 403
    assert runtime.store.get_user("nobody") is None

    frank = new_account(oidc_provider, email="Frank@corp.example")  # verified
    response = await sign_on(visitor, frank)
    assert "Signed in as <strong>frank</strong>" in visitor.text
    assert sources_of(runtime, "frank") == {"scim", "oidc"}
