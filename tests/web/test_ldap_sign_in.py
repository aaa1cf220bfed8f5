"""The web page's sign-in form with the company directory's password (a real slapd): the
account is made at the first sign-in and the page session opens; a wrong password and the
directory being down are said on the page, never a stack trace."""

from __future__ import annotations

import pytest

from regauth.config import Config
from regauth.runtime import Runtime
from tests.support.builders import reconfigured
from tests.support.ldap import LdapServer, regauth_settings
from tests.web.conftest import Visitor


@pytest.fixture
def config(config: Config, ldap_server: LdapServer) -> Config:
    return reconfigured(config, ldap=regauth_settings(ldap_server))


async def test_the_directory_password_opens_a_page_session(
    visitor: Visitor, runtime: Runtime, ldap_server: LdapServer
) -> None:
    response = await visitor.sign_in("alice", ldap_server.password("alice"))
    assert response.status == 200
    assert response.url.path == "/ui/settings/tokens"
    assert "Signed in as <strong>alice</strong>" in visitor.text
    alice = runtime.store.get_user("alice")
    assert alice is not None
    assert alice.linked


async def test_a_wrong_directory_password_is_said_so(
    visitor: Visitor, runtime: Runtime, ldap_server: LdapServer
) -> None:
    response = await visitor.sign_in("alice", ldap_server.password("bob"))
    assert response.status == 401
    assert "Incorrect username or password." in visitor.text
    assert ldap_server.password("bob") not in visitor.text
    assert runtime.store.get_user("alice") is None


async def test_the_directory_down_is_said_on_the_page(
    visitor: Visitor, ldap_server: LdapServer
) -> None:
    with ldap_server.down():
        response = await visitor.sign_in("alice", ldap_server.password("alice"))
    assert response.status == 503
    assert "the directory is unavailable: use a personal access token" in visitor.text.lower()
    assert "Traceback" not in visitor.text


async def test_a_directory_account_sets_no_local_password(
    visitor: Visitor, runtime: Runtime, ldap_server: LdapServer
) -> None:
    """A local password would be a way in that leaving the company does not close."""
    await visitor.sign_in("alice", ldap_server.password("alice"))
    await visitor.get("/settings/password")
    assert "change the password there" in visitor.text
    form = {
        "current_password": ldap_server.password("alice"),
        "new_password": "a-local-password-1",
        "confirm_password": "a-local-password-1",
    }
    response = await visitor.post("/settings/password", form)
    assert response.status == 409
    alice = runtime.store.get_user("alice")
    assert alice is not None
    assert alice.password_hash is None
