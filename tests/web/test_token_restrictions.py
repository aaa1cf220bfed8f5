"""The Generate form's repositories and allowed networks: a fine-grained, network-bound token
made from the page, shown in the table, on its created and edit pages; bad lists said so."""

from __future__ import annotations

import html
import re

import jwt
import pytest

from regauth.domain.models import TokenRecord
from regauth.runtime import Runtime
from tests.support.builders import add_org, add_token, add_user, basic
from tests.web.conftest import Visitor, token_on_page


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def _records(runtime: Runtime) -> list[TokenRecord]:
    return runtime.tokens.list_for(runtime.users.get("alice"))


def _text(page: str) -> str:
    """The page's words, tags dropped and entities read, spaces folded."""
    return " ".join(html.unescape(re.sub(r"<[^>]+>", " ", page)).split())


async def test_the_form_has_both_fields_with_their_hints(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    assert '<label for="repositories">Repositories (optional)</label>' in visitor.text
    assert '<textarea id="repositories" name="repositories"' in visitor.text
    assert '<label for="allow_from">Allowed networks (optional)</label>' in visitor.text
    assert '<textarea id="allow_from" name="allow_from"' in visitor.text
    words = _text(visitor.text)
    assert "names such as alice/app or patterns such as acme/ci/*" in words
    assert "Leave empty to accept it from anywhere." in words


async def test_a_fine_grained_network_bound_token_is_generated_and_shown(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    form = {
        "description": "ci",
        "access": "write",
        # One a line or comma-separated, as people paste them.
        "repositories": "alice/app\r\nalice/ci/*, alice/site",
        "allow_from": "127.0.0.0/8\n2001:db8::/32",
    }
    await visitor.post("/settings/tokens/new", form)

    secret = token_on_page(visitor.text)
    (record,) = _records(runtime)
    assert record.repositories == ("alice/app", "alice/ci/*", "alice/site")
    assert [str(n) for n in record.allow_from or ()] == ["127.0.0.0/8", "2001:db8::/32"]
    words = _text(visitor.text)
    assert "Repositories alice/app, alice/ci/*, alice/site" in words
    assert "Allowed networks 127.0.0.0/8, 2001:db8::/32" in words

    # The token works from loopback, on what it lists only.
    for name, actions in (("alice/app", ["push"]), ("alice/other", None)):
        answer = await visitor.client.get(
            f"/token?scope=repository:{name}:push", headers=basic("alice", secret)
        )
        assert answer.status == 200
        claims = jwt.decode((await answer.json())["token"], options={"verify_signature": False})
        granted = [a["actions"] for a in claims["access"]]
        assert granted == ([actions] if actions else []), name

    await visitor.get("/settings/tokens")
    words = _text(visitor.text)
    assert (
        "Read & Write Only alice/app, alice/ci/*, alice/site From 127.0.0.0/8, 2001:db8::/32"
        in (words)
    )
    await visitor.get(f"/settings/tokens/{record.uuid}/edit")
    words = _text(visitor.text)
    assert "the repositories (alice/app, alice/ci/*, alice/site)" in words
    assert "the allowed networks (127.0.0.0/8, 2001:db8::/32) cannot be edited" in words


async def test_a_token_without_lists_says_so(runtime: Runtime, visitor: Visitor) -> None:
    add_token(runtime, "alice", description="laptop")
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens")
    assert "Only " not in _text(visitor.text) and "From " not in _text(visitor.text)
    (record,) = _records(runtime)
    await visitor.get(f"/settings/tokens/{record.uuid}/edit")
    words = _text(visitor.text)
    assert "the repositories (every repository you can reach)" in words
    assert "the allowed networks (anywhere)" in words


async def test_a_network_bound_token_from_elsewhere_cannot_open_a_page_session(
    runtime: Runtime, visitor: Visitor
) -> None:
    created = await visitor.sign_in("alice")
    assert created.status == 200
    await visitor.get("/settings/tokens/new")
    form = {"description": "ci", "access": "read", "allow_from": "10.0.0.0/8"}
    await visitor.post("/settings/tokens/new", form)
    secret = token_on_page(visitor.text)
    await visitor.post("/sign-out", {})
    refused = await visitor.sign_in("alice", secret)
    assert refused.status == 401
    assert "Token not allowed from 127.0.0.1" in _text(visitor.text)


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"repositories": "app"}, "'app' is neither a repository (namespace/name) nor a pattern"),
        ({"repositories": "alice/*/x"}, "'alice/*/x' is neither"),
        ({"allow_from": "10.0.0.1/8"}, "'10.0.0.1/8' has host bits set: did you mean 10.0.0.0/8?"),
        ({"allow_from": "office"}, "'office' is not a network"),
    ],
)
async def test_a_bad_list_is_said_so_and_makes_nothing(
    runtime: Runtime, visitor: Visitor, fields: dict[str, str], message: str
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    response = await visitor.post(
        "/settings/tokens/new", {"description": "x", "access": "read", **fields}
    )
    assert response.status == 400
    assert message in _text(visitor.text)
    assert _records(runtime) == []


async def test_an_organization_token_bound_to_networks_from_its_page(
    runtime: Runtime, visitor: Visitor
) -> None:
    add_org(runtime, "acme", "alice")
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    assert '<label for="allow_from">Allowed networks (optional)</label>' in visitor.text
    form = {"label": "ci", "repository_1": "app", "pull_1": "on", "allow_from": "10.0.0.0/8"}
    await visitor.post("/orgs/acme/tokens/new", form)

    secret = token_on_page(visitor.text)
    assert "Allowed networks 10.0.0.0/8" in _text(visitor.text)
    [record] = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert [str(n) for n in record.allow_from or ()] == ["10.0.0.0/8"]
    await visitor.get("/orgs/acme/tokens")
    assert "acme/app: Pull From 10.0.0.0/8" in _text(visitor.text)
    # This test's client is at 127.0.0.1: outside the token's networks.
    refused = await visitor.client.get(
        "/token?scope=repository:acme/app:pull", headers=basic("acme", secret)
    )
    assert refused.status == 401
    assert (await refused.json())["details"] == "token not allowed from 127.0.0.1"
