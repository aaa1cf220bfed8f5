"""The organization access token pages: generate with repositories picked (the secret shown
once, and then only what /token grants it), the list, (de)activate, regenerate and delete;
owners only."""

from __future__ import annotations

import jwt
import pytest

from regauth.domain.models import CLI_ACTOR, Actor, OrgRole
from regauth.runtime import Runtime
from tests.support.builders import add_org, add_user, basic
from tests.web.conftest import Visitor, token_on_page

APP_PUSH = {"label": "ci", "description": "the build", "repository_1": "app", "pull_1": "on",
            "push_1": "on"}  # fmt: skip


@pytest.fixture(autouse=True)
def acme(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "bob")
    org = add_org(runtime, "acme", "alice")
    runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.MEMBER, CLI_ACTOR)


def _records(runtime: Runtime) -> list[str]:
    return [r.label for r in runtime.org_tokens.for_org(runtime.organizations.get("acme"))]


async def _granted(visitor: Visitor, secret: str, scope: str) -> list[tuple[str, list[str]]]:
    response = await visitor.client.get(
        f"/token?service=registry&scope={scope}", headers=basic("acme", secret)
    )
    assert response.status == 200, await response.text()
    claims = jwt.decode((await response.json())["token"], options={"verify_signature": False})
    return [(a["name"], a["actions"]) for a in claims["access"]]


async def test_generate_shows_the_token_once_and_it_reaches_only_its_repository(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    assert 'for="repository_3">Repository 3</label>' in visitor.text
    assert "repository_4" not in visitor.text

    response = await visitor.post("/orgs/acme/tokens/new", APP_PUSH)

    assert response.status == 200
    assert response.headers["Cache-Control"] == "no-store"
    secret = token_on_page(visitor.text)
    assert secret.startswith("rgo_")
    assert 'value="docker login -u acme localhost:5000"' in visitor.text
    assert 'data-copy="new-token">Copy</button>' in visitor.text
    assert "it will not be shown again" in visitor.text
    assert "acme/app: Pull, Push" in visitor.text
    assert await _granted(visitor, secret, "repository:acme/app:pull,push") == [
        ("acme/app", ["pull", "push"])
    ]
    assert await _granted(visitor, secret, "repository:acme/other:pull,push") == []

    listing = await visitor.get("/orgs/acme/tokens")
    assert listing.status == 200
    assert secret not in visitor.text
    assert '<td data-label="Label">ci<small>the build</small></td>' in visitor.text
    assert "acme/app: Pull, Push" in visitor.text
    assert "by alice" in visitor.text
    # Reloading the form, or going back to it, never shows the token.
    await visitor.get("/orgs/acme/tokens/new")
    assert secret not in visitor.text
    # Nor does the page that showed it (POST-redirect-GET: a reload makes no second token).
    [record] = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert str(response.url).endswith(f"/orgs/acme/tokens/{record.uuid}/created")
    await visitor.get(f"/orgs/acme/tokens/{record.uuid}/created")
    assert secret not in visitor.text
    assert "was shown once, when it was generated, and is not shown again" in visitor.text
    assert _records(runtime) == ["ci"]
    assert _records(runtime) == ["ci"]


async def test_pull_only_rows_and_public_read(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new?rows=5")
    assert 'for="repository_5"' in visitor.text
    form = {"label": "mirror", "repository_1": "acme/base", "pull_1": "on",
            "repository_2": "", "repository_5": "tools/lint", "pull_5": "on",
            "public_read": "on", "expiration": "30"}  # fmt: skip
    await visitor.post("/orgs/acme/tokens/new", form)
    secret = token_on_page(visitor.text)
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert dict(record.resources) == {
        "acme/base": frozenset({"pull"}),
        "acme/tools/lint": frozenset({"pull"}),
    }
    assert record.public_read
    assert record.expires_at == int(runtime.clock()) + 30 * 86400
    assert await _granted(visitor, secret, "repository:acme/base:pull,push") == [
        ("acme/base", ["pull"])
    ]


async def test_a_row_without_an_action_is_refused(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    response = await visitor.post("/orgs/acme/tokens/new", {"label": "x", "repository_1": "app"})
    assert response.status == 400
    assert "choose pull and/or push" in visitor.text.lower()
    assert _records(runtime) == []


async def test_more_than_50_repositories_are_refused_by_the_service(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new?rows=50")
    assert 'for="repository_50"' in visitor.text
    assert "More repositories" not in visitor.text
    form = {"label": "many"}
    for n in range(1, 52):
        form |= {f"repository_{n}": f"r{n}", f"pull_{n}": "on"}
    response = await visitor.post("/orgs/acme/tokens/new", form)
    assert response.status == 400
    assert "at most 50 repositories" in visitor.text
    assert _records(runtime) == []


async def test_the_form_still_has_a_field_limit(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    form = {"label": "many"} | {f"extra_{n}": "x" for n in range(200)}
    response = await visitor.post("/orgs/acme/tokens/new", form)
    assert response.status == 400
    assert "more than 160 fields" in visitor.text
    assert _records(runtime) == []


async def test_a_repository_of_another_namespace_cannot_be_listed(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    form = {"label": "x", "repository_1": "../alice/app", "pull_1": "on"}
    response = await visitor.post("/orgs/acme/tokens/new", form)
    assert response.status == 400
    assert "is not a repository of" in visitor.text
    assert _records(runtime) == []


async def test_deactivate_activate_and_delete(runtime: Runtime, visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    await visitor.post("/orgs/acme/tokens/new", APP_PUSH)
    secret = token_on_page(visitor.text)
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    await visitor.get("/orgs/acme/tokens")

    await visitor.post(f"/orgs/acme/tokens/{record.id}/deactivate")
    assert '<span class="status inactive">Inactive</span>' in visitor.text
    refused = await visitor.client.get("/token?service=registry", headers=basic("acme", secret))
    assert refused.status == 401

    await visitor.post(f"/orgs/acme/tokens/{record.id}/activate")
    assert '<span class="status active">Active</span>' in visitor.text
    assert await _granted(visitor, secret, "repository:acme/app:pull") == [("acme/app", ["pull"])]

    confirm = await visitor.get(f"/orgs/acme/tokens/{record.id}/delete")
    assert confirm.status == 200
    assert "This cannot be undone." in visitor.text
    await visitor.post(f"/orgs/acme/tokens/{record.id}/delete")
    assert _records(runtime) == []
    assert "acme has no organization access tokens yet." in visitor.text
    gone = await visitor.client.get("/token?service=registry", headers=basic("acme", secret))
    assert gone.status == 401


async def test_a_token_revoked_as_leaked_is_not_activated(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    await visitor.post("/orgs/acme/tokens/new", APP_PUSH)
    secret = token_on_page(visitor.text)
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert runtime.revocation.revoke([secret], Actor(name="", kind="anonymous")) == 1
    await visitor.get("/orgs/acme/tokens")

    response = await visitor.post(f"/orgs/acme/tokens/{record.id}/activate")
    assert response.status == 409
    assert "revoked as leaked: regenerate it, then activate it" in visitor.text
    refused = await visitor.client.get("/token?service=registry", headers=basic("acme", secret))
    assert refused.status == 401


async def test_regenerate_shows_the_new_secret_once_and_ends_the_old_one(
    runtime: Runtime, visitor: Visitor
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens/new")
    await visitor.post("/orgs/acme/tokens/new", APP_PUSH)
    old = token_on_page(visitor.text)
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    await visitor.get("/orgs/acme/tokens")
    assert f'href="/ui/orgs/acme/tokens/{record.id}/regenerate">Regenerate</a>' in visitor.text

    confirm = await visitor.get(f"/orgs/acme/tokens/{record.id}/regenerate")
    assert confirm.status == 200
    assert "Make a new secret for <strong>ci</strong> of acme" in visitor.text
    response = await visitor.post(f"/orgs/acme/tokens/{record.id}/regenerate", {"grace": "0"})

    assert response.status == 200
    assert str(response.url).endswith(f"/orgs/acme/tokens/{record.uuid}/created")
    new = token_on_page(visitor.text)
    assert new.startswith("rgo_") and new != old
    refused = await visitor.client.get("/token?service=registry", headers=basic("acme", old))
    assert refused.status == 401
    assert await _granted(visitor, new, "repository:acme/app:pull") == [("acme/app", ["pull"])]
    assert _records(runtime) == ["ci"]  # the same token, not a second one
    await visitor.get(f"/orgs/acme/tokens/{record.uuid}/created")
    assert new not in visitor.text


async def test_a_member_cannot_read_or_change_the_tokens(
    runtime: Runtime, visitor: Visitor
) -> None:
    created = runtime.org_tokens.create(
        runtime.organizations.get("acme"), CLI_ACTOR, label="ci", description="",
        resources={}, public_read=True, expires_at=None,
    )  # fmt: skip
    await visitor.sign_in("bob")
    for path in ("/orgs/acme/tokens", "/orgs/acme/tokens/new", f"/orgs/acme/tokens/{created.record.id}/delete", f"/orgs/acme/tokens/{created.record.id}/regenerate"):  # fmt: skip
        assert (await visitor.get(path)).status == 403, path
    for action in ("deactivate", "regenerate", "delete"):
        response = await visitor.post(f"/orgs/acme/tokens/{created.record.id}/{action}")
        assert response.status == 403, action
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert record.active and record.secret_hash == created.record.secret_hash


async def test_the_token_actions_need_the_page_token(runtime: Runtime, visitor: Visitor) -> None:
    created = runtime.org_tokens.create(
        runtime.organizations.get("acme"), CLI_ACTOR, label="ci", description="",
        resources={}, public_read=True, expires_at=None,
    )  # fmt: skip
    await visitor.sign_in("alice")
    for action in ("deactivate", "regenerate", "delete"):
        response = await visitor.post(f"/orgs/acme/tokens/{created.record.id}/{action}", csrf=None)
        assert response.status == 403, action
    (record,) = runtime.org_tokens.for_org(runtime.organizations.get("acme"))
    assert record.active and record.secret_hash == created.record.secret_hash


async def test_another_organizations_token_is_a_404(runtime: Runtime, visitor: Visitor) -> None:
    other = add_org(runtime, "umbrella", "alice")
    created = runtime.org_tokens.create(
        other, CLI_ACTOR, label="ci", description="", resources={}, public_read=True,
        expires_at=None,
    )  # fmt: skip
    await visitor.sign_in("alice")
    await visitor.get("/orgs/acme/tokens")
    response = await visitor.post(f"/orgs/acme/tokens/{created.record.id}/deactivate")
    assert response.status == 404
    assert runtime.org_tokens.for_org(other)[0].active
