"""The personal access tokens page: the table, its pages, generating, renaming, (de)activating
and deleting, each checked against what the services then hold."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

import pytest
from pytest_aiohttp import AiohttpClient

from regauth.domain.models import CLI_ACTOR, AccessLevel, Actor, TokenRecord
from regauth.runtime import Runtime
from regauth.web.app import create_site
from tests.support.builders import OpenRuntime, add_token, add_user, basic
from tests.support.clock import FakeClock
from tests.web.conftest import Visitor, token_on_page


@pytest.fixture(autouse=True)
def alice(runtime: Runtime) -> None:
    add_user(runtime, "alice")


def _records(runtime: Runtime) -> list[TokenRecord]:
    return runtime.tokens.list_for(runtime.users.get("alice"))


def _rows(page: str) -> list[str]:
    body = re.search(r"<tbody[^>]*>(.*?)</tbody>", page, re.DOTALL)
    return re.findall(r"<tr[^>]*>(.*?)</tr>", body.group(1), re.DOTALL) if body else []


def _cells(row: str) -> dict[str, str]:
    cells = re.findall(r'<td role="cell" data-label="([^"]+)">(.*?)</td>', row, re.DOTALL)
    return {
        label: re.sub(
            r"<[^>]+>",
            " ",
            value.replace(f'<span class="label" aria-hidden="true">{label}: </span>', ""),
        )
        for label, value in cells
    }


async def test_the_table_shows_each_column(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    pat = add_token(runtime, "alice", AccessLevel.READ, description="build box")
    add_token(
        runtime, "alice", AccessLevel.WRITE, description="soon", expires_at=int(clock()) + 3 * 86400
    )
    add_token(
        runtime,
        "alice",
        AccessLevel.PUBLIC_READ,
        description="later",
        expires_at=int(clock()) + 30 * 86400,
    )
    gone = add_token(runtime, "alice", description="old", expires_at=int(clock()) + 60)
    del gone
    off = next(r for r in _records(runtime) if r.description == "later")
    runtime.tokens.set_active(off, CLI_ACTOR, False)
    used = await visitor.client.get(
        "/token", headers={**basic("alice", pat), "User-Agent": "docker/27.0"}
    )
    assert used.status == 200
    runtime.usage.flush()
    clock.advance(120)

    await visitor.sign_in("alice")

    rows = {_cells(r)["Description"].split()[0]: _cells(r) for r in _rows(visitor.text)}
    assert set(rows) == {"build", "soon", "later", "old"}
    build = rows["build"]
    assert build["Scope"].strip() == "Read-only"
    assert build["Source"].strip() == "Manual"
    assert build["Status"].strip() == "Active"
    assert "with docker/27.0" in build["Last used"]
    assert "from 127.0.0.1" in build["Last used"]
    assert build["Expiration date"].strip() == "Never"
    assert "Expires soon" in rows["soon"]["Description"]
    assert "Expires soon" not in rows["build"]["Description"]
    assert rows["soon"]["Last used"].strip() == "Never"
    assert rows["later"]["Status"].strip() == "Inactive"
    assert rows["later"]["Scope"].strip() == "Public Repo Read-only"
    assert rows["old"]["Status"].strip() == "Expired"
    assert "Expires soon" not in rows["old"]["Description"]  # expired already
    assert "Active tokens: <strong>2</strong> of 50" in visitor.text
    assert "Creations left this hour: <strong>26</strong> of 30" in visitor.text


async def test_an_auto_generated_session_token_shows_its_source(
    runtime: Runtime, visitor: Visitor
) -> None:
    runtime.tokens.create_session_token(
        runtime.users.get("alice"), client_id="docker", ip="10.1.2.3", user_agent="docker/27.0"
    )
    await visitor.sign_in("alice")
    (row,) = [_cells(r) for r in _rows(visitor.text)]
    assert row["Source"].strip() == "Auto-generated"
    assert row["Scope"].strip() == "Read, Write &amp; Delete"
    assert "from 10.1.2.3 with docker/27.0" in row["Created"]


async def test_more_than_25_tokens_are_paged(runtime: Runtime, visitor: Visitor) -> None:
    for n in range(30):
        runtime.tokens.create(
            runtime.users.get("alice"), CLI_ACTOR, description=f"t{n:02d}",
            access=AccessLevel.READ, expires_at=None,
        )  # fmt: skip
    await visitor.sign_in("alice")
    first = [_cells(r)["Description"].strip() for r in _rows(visitor.text)]
    assert len(first) == 25
    assert "Page 1 of 2 (30 tokens)" in visitor.text
    assert 'href="/ui/settings/tokens?page=2" rel="next">Next</a>' in visitor.text
    assert "Previous" not in visitor.text

    await visitor.get("/settings/tokens?page=2")
    second = [_cells(r)["Description"].strip() for r in _rows(visitor.text)]

    assert len(second) == 5
    assert set(first) | set(second) == {f"t{n:02d}" for n in range(30)}
    assert 'rel="prev">Previous</a>' in visitor.text
    assert ">Next</a>" not in visitor.text


async def test_a_page_number_that_is_not_one_is_a_400(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    response = await visitor.get("/settings/tokens?page=zero")
    assert response.status == 400
    assert "Bad request" in visitor.text


async def test_the_generate_form_has_its_choices(visitor: Visitor) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    for label in ("None", "30 days", "60 days", "90 days", "Custom"):
        assert f">{label}</option>" in visitor.text
    for label in (
        "Read, Write &amp; Delete",
        "Read &amp; Write",
        "Read-only",
        "Public Repo Read-only",
    ):
        assert f">{label}</label>" in visitor.text
    assert '<label for="description">Description</label>' in visitor.text
    assert '<label for="expiration">Expiration date</label>' in visitor.text
    assert "<legend>Access permissions</legend>" in visitor.text
    assert '<button type="submit">Generate</button>' in visitor.text


@pytest.mark.parametrize(
    ("form", "level", "days"),
    [
        ({"access": "write", "expiration": "30"}, AccessLevel.WRITE, 30),
        ({"access": "delete", "expiration": "none"}, AccessLevel.DELETE, None),
        ({"access": "read", "expiration": "90"}, AccessLevel.READ, 90),
        ({"access": "public-read", "expiration": "60"}, AccessLevel.PUBLIC_READ, 60),
    ],
)
async def test_generating_makes_the_token_asked_for(
    runtime: Runtime,
    visitor: Visitor,
    clock: FakeClock,
    form: dict[str, str],
    level: AccessLevel,
    days: int | None,
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    await visitor.post("/settings/tokens/new", {"description": "laptop", **form})

    secret = token_on_page(visitor.text)
    (record,) = _records(runtime)
    assert secret.startswith(f"rgp_{record.id}")
    assert (record.description, record.access) == ("laptop", level)
    assert record.expires_at == (None if days is None else int(clock()) + days * 86400)
    token = await visitor.client.get("/token", headers=basic("alice", secret))
    assert token.status == 200


async def test_a_custom_expiration_date(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    day = (datetime.fromtimestamp(clock(), UTC) + timedelta(days=10)).date()
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    await visitor.post(
        "/settings/tokens/new",
        {
            "description": "ci",
            "access": "read",
            "expiration": "custom",
            "expiration_date": day.isoformat(),
        },
    )
    token_on_page(visitor.text)
    (record,) = _records(runtime)
    assert record.expires_at == int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp())


@pytest.mark.parametrize(
    ("form", "message"),
    [
        ({"description": "", "access": "read"}, "Description must be 1-100 characters"),
        ({"description": "ci\x1b[31m", "access": "read"}, "Description must not contain control characters"),
        ({"description": "x", "access": "root"}, "Bad request"),
        ({"description": "x", "access": "read", "expiration": "custom"}, "Choose the custom expiration date"),
        ({"description": "x", "access": "read", "expiration": "custom", "expiration_date": "2001-01-01"}, "Expiration must be in the future"),
    ],
)  # fmt: skip
async def test_a_bad_form_is_said_so_and_makes_nothing(
    runtime: Runtime, visitor: Visitor, form: dict[str, str], message: str
) -> None:
    await visitor.sign_in("alice")
    await visitor.get("/settings/tokens/new")
    response = await visitor.post("/settings/tokens/new", form)
    assert response.status == 400
    assert message in visitor.text
    assert _records(runtime) == []


async def test_rename_keeps_the_rest_and_says_the_expiration_stays(
    runtime: Runtime, visitor: Visitor
) -> None:
    add_token(runtime, "alice", AccessLevel.WRITE, description="old name")
    (before,) = _records(runtime)
    await visitor.sign_in("alice")
    await visitor.get(f"/settings/tokens/{before.uuid}/edit")
    assert "expiration date" in visitor.text
    assert "cannot be edited" in visitor.text

    response = await visitor.post(
        f"/settings/tokens/{before.uuid}/edit", {"description": "new name"}
    )

    assert response.url.path == "/ui/settings/tokens"
    (after,) = _records(runtime)
    assert (after.description, after.access, after.expires_at) == (
        "new name",
        before.access,
        before.expires_at,
    )
    assert "new name" in visitor.text


async def test_deactivate_then_activate(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice", description="ci")
    uuid = _records(runtime)[0].uuid
    await visitor.sign_in("alice")

    await visitor.post(f"/settings/tokens/{uuid}/deactivate")
    assert _cells(_rows(visitor.text)[0])["Status"].strip() == "Inactive"
    assert ">Activate</button>" in visitor.text
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 401

    await visitor.post(f"/settings/tokens/{uuid}/activate")
    assert _cells(_rows(visitor.text)[0])["Status"].strip() == "Active"
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 200


async def test_activate_past_the_active_token_cap_is_refused(
    another_runtime: OpenRuntime, aiohttp_client: AiohttpClient
) -> None:
    runtime = another_runtime(limits={"max_active_tokens": 1})
    visitor = Visitor(await aiohttp_client(create_site(runtime)))
    add_token(runtime, "alice", description="first")
    uuid = _records(runtime)[0].uuid
    await visitor.sign_in("alice")
    await visitor.post(f"/settings/tokens/{uuid}/deactivate")
    add_token(runtime, "alice", description="second")
    await visitor.get("/settings/tokens")

    response = await visitor.post(f"/settings/tokens/{uuid}/activate")
    assert response.status == 409
    assert "Active token limit reached (1)" in visitor.text
    assert [r.active for r in _records(runtime) if r.uuid == uuid] == [False]


async def test_a_token_revoked_as_leaked_is_not_activated(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice", description="ci")
    uuid = _records(runtime)[0].uuid
    assert runtime.revocation.revoke([pat], Actor(name="", kind="anonymous")) == 1
    await visitor.sign_in("alice")

    response = await visitor.post(f"/settings/tokens/{uuid}/activate")
    assert response.status == 409
    assert "revoked as leaked: regenerate it, then activate it" in visitor.text
    assert not _records(runtime)[0].active
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 401


async def test_delete_asks_first_then_deletes(runtime: Runtime, visitor: Visitor) -> None:
    add_token(runtime, "alice", description="ci")
    uuid = _records(runtime)[0].uuid
    await visitor.sign_in("alice")

    response = await visitor.get(f"/settings/tokens/{uuid}/delete")
    assert response.status == 200
    assert "This cannot be undone" in visitor.text
    assert len(_records(runtime)) == 1  # asking is not deleting

    await visitor.post(f"/settings/tokens/{uuid}/delete")

    assert _records(runtime) == []
    assert "You have no personal access tokens yet" in visitor.text


async def test_another_users_token_is_not_found(runtime: Runtime, visitor: Visitor) -> None:
    add_user(runtime, "bob")
    add_token(runtime, "bob", description="bob's")
    uuid = runtime.tokens.list_for(runtime.users.get("bob"))[0].uuid
    await visitor.sign_in("alice")
    for path in (f"/settings/tokens/{uuid}/edit", f"/settings/tokens/{uuid}/delete"):
        assert (await visitor.get(path)).status == 404
    await visitor.get("/settings/tokens")
    assert (await visitor.post(f"/settings/tokens/{uuid}/delete")).status == 404
    assert len(runtime.tokens.list_for(runtime.users.get("bob"))) == 1


async def test_the_creation_limit_is_said_so(runtime: Runtime, visitor: Visitor) -> None:
    for n in range(runtime.config.limits.token_creations_per_hour):
        add_token(runtime, "alice", description=f"t{n}")
    await visitor.sign_in("alice")
    assert "Creations left this hour: <strong>0</strong>" in visitor.text
    await visitor.get("/settings/tokens/new")
    response = await visitor.post(
        "/settings/tokens/new", {"description": "one more", "access": "read"}
    )
    assert response.status == 429
    assert "token creation limit reached" in visitor.text.lower()


@pytest.mark.parametrize(
    ("default_expiry", "selected", "date_days"),
    [("60d", "60", None), ("45d", "custom", 45), ("never", "none", None)],
)
async def test_the_form_starts_on_the_configured_default_expiry(
    another_runtime: OpenRuntime,
    aiohttp_client: AiohttpClient,
    clock: FakeClock,
    default_expiry: str,
    selected: str,
    date_days: int | None,
) -> None:
    """[limits] default_expiry is what the API and the CLI give when none is asked for; the
    page starts on it too (the form always sends a choice)."""
    runtime = another_runtime(limits={"default_expiry": default_expiry})
    add_user(runtime, "carol")
    visitor = Visitor(await aiohttp_client(create_site(runtime)))
    await visitor.sign_in("carol")
    await visitor.get("/settings/tokens/new")
    assert f'<option value="{selected}" selected>' in visitor.text
    assert visitor.text.count(" selected>") == 1
    if date_days is not None:
        day = (datetime.fromtimestamp(clock(), UTC) + timedelta(days=date_days)).date()
        assert f'name="expiration_date" type="date" value="{day.isoformat()}"' in visitor.text
