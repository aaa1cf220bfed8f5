"""The administration pages: admins only (PAT sessions never), and each action taking effect
where it matters: a disabled user's token refused at /token through the same runtime, the
token filters of the admin API, visibility, the audit log's filters and pages, explain."""

from __future__ import annotations

from datetime import UTC, datetime

import jwt
import pytest

from regauth.domain.models import (
    CLI_ACTOR,
    AccessLevel,
    Actor,
    AuditQuery,
    OrgRole,
    TeamPermission,
    Visibility,
)
from regauth.runtime import Runtime
from tests.support.builders import add_org, add_token, add_user, basic, enable_two_factor
from tests.support.clock import FakeClock
from tests.web.conftest import Visitor

DAY = 86400
PAGES = [
    "/admin/users",
    "/admin/tokens",
    "/admin/repositories",
    "/admin/audit",
    "/admin/notifications",
    "/admin/explain",
]


@pytest.fixture(autouse=True)
def people(runtime: Runtime) -> None:
    add_user(runtime, "root", admin=True)
    add_user(runtime, "alice")


async def _admin(visitor: Visitor) -> None:
    await visitor.sign_in("root")


def _main(text: str) -> str:
    return text.split("<main", 1)[1]


# Who may


@pytest.mark.parametrize("path", [*PAGES, "/admin", "/admin/tokens/x/delete"])
async def test_a_user_who_is_not_an_admin_is_refused(visitor: Visitor, path: str) -> None:
    await visitor.sign_in("alice")
    assert "Administration</a>" not in visitor.text
    response = await visitor.get(path)
    assert response.status == 403
    assert "Administrator rights are required." in visitor.text


async def test_an_admins_pat_session_is_refused(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "root", AccessLevel.DELETE)
    await visitor.sign_in("root", pat)
    assert "Administration</a>" not in visitor.text
    for path in PAGES:
        assert (await visitor.get(path)).status == 403, path
    response = await visitor.post("/admin/users/alice/disable")
    assert response.status == 403
    assert not runtime.users.get("alice").disabled


async def test_a_non_admins_forged_posts_are_refused(runtime: Runtime, visitor: Visitor) -> None:
    pat = add_token(runtime, "alice")
    await visitor.sign_in("alice")
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    for path, form in (
        ("/admin/users", {"name": "mallory", "password": "long-enough-1", "admin": "on"}),
        ("/admin/users/alice/grant-admin", {}),
        ("/admin/users/root/disable", {}),
        (f"/admin/tokens/{record.id}/delete", {}),
        ("/admin/repositories", {"name": "root/app", "visibility": "public"}),
        ("/admin/explain", {"subject": "user", "name": "root", "scope": "registry:catalog:*"}),
    ):
        response = await visitor.post(path, form)
        assert response.status == 403, path
    assert [u.name for u in runtime.users.list()] == ["alice", "root"]
    assert not runtime.users.get("alice").is_admin
    assert not runtime.users.get("root").disabled
    assert runtime.tokens.list_for(runtime.users.get("alice"))[0].active
    assert runtime.repositories.list() == []
    del pat


async def test_the_admin_forms_need_the_page_token(runtime: Runtime, visitor: Visitor) -> None:
    add_token(runtime, "alice")
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    await _admin(visitor)
    for path, form in (
        ("/admin/users", {"name": "mallory", "password": "long-enough-1"}),
        ("/admin/users/alice/disable", {}),
        (f"/admin/tokens/{record.id}/deactivate", {}),
        (f"/admin/tokens/{record.id}/delete", {}),
        ("/admin/repositories", {"name": "alice/app", "visibility": "public"}),
        ("/admin/explain", {"subject": "user", "name": "alice", "scope": "repository:a/b:pull"}),
    ):
        response = await visitor.post(path, form, csrf=None)
        assert response.status == 403, path
        assert "was not sent from a page of this site" in visitor.text
    assert not runtime.users.get("alice").disabled
    assert runtime.tokens.list_for(runtime.users.get("alice"))[0].active
    assert runtime.repositories.list() == []


async def test_an_admin_sees_the_navigation_entry(visitor: Visitor) -> None:
    await _admin(visitor)
    assert '<a href="/ui/admin">Administration</a>' in visitor.text
    response = await visitor.get("/admin")
    assert response.url.path == "/ui/admin/users"
    assert '<a href="/ui/admin" aria-current="page">Administration</a>' in visitor.text


# Users


async def test_disabling_a_user_refuses_their_token_at_once_and_enabling_restores_it(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice")
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 200
    await _admin(visitor)
    await visitor.get("/admin/users")

    await visitor.post("/admin/users/alice/disable")

    assert runtime.users.get("alice").disabled
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 401
    assert '<span class="status inactive">Disabled</span>' in visitor.text
    await visitor.post("/admin/users/alice/enable")
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 200


async def test_create_grant_and_revoke_admin(runtime: Runtime, visitor: Visitor) -> None:
    await _admin(visitor)
    await visitor.get("/admin/users")
    response = await visitor.post(
        "/admin/users", {"name": "bob", "password": "bob-password-1", "admin": ""}
    )
    assert response.status == 200
    assert '<td data-label="Username">bob</td>' in visitor.text
    assert not runtime.users.get("bob").is_admin
    assert (
        await visitor.client.get("/token", headers=basic("bob", "bob-password-1"))
    ).status == 200

    await visitor.post("/admin/users/bob/grant-admin")
    assert runtime.users.get("bob").is_admin
    await visitor.post("/admin/users/bob/revoke-admin")
    assert not runtime.users.get("bob").is_admin


async def test_a_bad_new_user_is_refused_with_the_services_reason(
    runtime: Runtime, visitor: Visitor
) -> None:
    await _admin(visitor)
    await visitor.get("/admin/users")
    response = await visitor.post("/admin/users", {"name": "bob", "password": "short"})
    assert response.status == 400
    assert "password must be 8-" in visitor.text.lower()
    assert "short" not in _main(visitor.text)  # the password is not repeated
    assert [u.name for u in runtime.users.list()] == ["alice", "root"]


async def test_reset_two_factor(runtime: Runtime, visitor: Visitor) -> None:
    enable_two_factor(runtime, "alice")
    await _admin(visitor)
    await visitor.get("/admin/users")
    assert "Reset two-factor<span" in visitor.text
    await visitor.post("/admin/users/alice/reset-two-factor")
    assert not runtime.users.get("alice").totp_enabled
    assert "Reset two-factor<span" not in visitor.text


async def test_an_unknown_change_is_a_404(visitor: Visitor) -> None:
    await _admin(visitor)
    await visitor.get("/admin/users")
    assert (await visitor.post("/admin/users/alice/promote")).status == 404


# Tokens across users


async def test_the_token_filters_find_stale_tokens(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    add_user(runtime, "bob")
    used = add_token(runtime, "alice", description="used")
    add_token(runtime, "alice", description="never")
    add_token(runtime, "bob", description="bobs", expires_at=int(clock()) + 60)
    runtime.tokens.create_session_token(
        runtime.users.get("bob"), client_id="docker", ip=None, user_agent=None
    )
    assert (await visitor.client.get("/token", headers=basic("alice", used))).status == 200
    runtime.usage.flush()
    clock.advance(10 * DAY)
    await _admin(visitor)

    async def found(query: str) -> set[str]:
        assert (await visitor.get(f"/admin/tokens?{query}")).status == 200
        cells = _main(visitor.text).split('<td data-label="Description">')[1:]
        return {cell.split("<small>", 1)[0] for cell in cells}

    every = await found("")
    assert {"used", "never", "bobs"} <= every
    assert await found("user=bob&state=expired") == {"bobs"}
    assert await found("state=active&kind=manual") == {"used", "never"}
    assert len(await found("kind=auto")) == 1
    stale_day = _day(clock() - 5 * DAY)
    assert await found(f"kind=manual&last_used_before={stale_day}") == {"used", "never", "bobs"}
    assert await found(f"kind=manual&last_used_before={_day(clock() - 20 * DAY)}") == {
        "never",
        "bobs",
    }
    assert 'value="manual" selected' in visitor.text
    assert (await visitor.get("/admin/tokens?state=stale")).status == 400
    assert (await visitor.get("/admin/tokens?last_used_before=yesterday")).status == 400


async def test_deactivate_and_delete_from_the_token_list(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice", description="ci")
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    await _admin(visitor)
    await visitor.get("/admin/tokens")
    await visitor.post(f"/admin/tokens/{record.id}/deactivate")
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 401
    await visitor.post(f"/admin/tokens/{record.id}/activate")
    assert (await visitor.client.get("/token", headers=basic("alice", pat))).status == 200
    confirm = await visitor.get(f"/admin/tokens/{record.id}/delete")
    assert confirm.status == 200
    assert "Delete <strong>ci</strong> of alice" in visitor.text
    await visitor.post(f"/admin/tokens/{record.id}/delete")
    assert runtime.tokens.list_for(runtime.users.get("alice")) == []
    assert pat not in visitor.text


async def test_the_token_list_is_paged(runtime: Runtime, visitor: Visitor) -> None:
    add_user(runtime, "bob")
    for n in range(55):  # within each account's limits: 28 and 27
        runtime.tokens.create(
            runtime.users.get("alice" if n % 2 else "bob"), CLI_ACTOR, description=f"t{n:02d}",
            access=AccessLevel.READ, expires_at=None,
        )  # fmt: skip
    await _admin(visitor)
    await visitor.get("/admin/tokens?kind=manual")
    assert visitor.text.count('<td data-label="Owner">') == 50
    assert 'href="/ui/admin/tokens?kind=manual&amp;page=2" rel="next">Next</a>' in visitor.text
    await visitor.get("/admin/tokens?kind=manual&page=2")
    assert visitor.text.count('<td data-label="Owner">') == 5
    assert ">Next</a>" not in visitor.text
    assert 'rel="prev">Previous</a>' in visitor.text


# Repositories


async def test_set_a_repository_public_then_private(runtime: Runtime, visitor: Visitor) -> None:
    await _admin(visitor)
    await visitor.get("/admin/repositories")
    assert "all are private" in visitor.text
    await visitor.post("/admin/repositories", {"name": "alice/app", "visibility": "public"})
    assert [(r.name, r.visibility) for r in runtime.repositories.list()] == [
        ("alice/app", Visibility.PUBLIC)
    ]
    assert await _anonymous_pull(visitor) == [{"type": "repository", "name": "alice/app",
                                               "actions": ["pull"]}]  # fmt: skip
    assert '<td data-label="Visibility">Public</td>' in visitor.text
    await visitor.post("/admin/repositories", {"name": "alice/app", "visibility": "private"})
    assert runtime.repositories.list()[0].visibility is Visibility.PRIVATE
    assert await _anonymous_pull(visitor) == []
    response = await visitor.post("/admin/repositories", {"name": "app", "visibility": "public"})
    assert response.status == 400


# The audit log


async def test_the_audit_log_filters_by_actor_action_and_time(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    ops = Actor(name="ops", kind="user")
    runtime.audit.record(ops, "repository.visibility", "old/app", visibility="public")
    clock.advance(3 * DAY)
    runtime.audit.record(ops, "user.disable", "alice")
    runtime.audit.record(Actor(name="eve", kind="user"), "user.disable", "bob")
    await _admin(visitor)

    async def events(query: str) -> list[tuple[str, str]]:
        assert (await visitor.get(f"/admin/audit?{query}")).status == 200
        rows = _main(visitor.text).split('<td data-label="Actor">')[1:]
        return [
            (row.split("<small>", 1)[0], row.split('data-label="Target">', 1)[1].split("<", 1)[0])
            for row in rows
        ]

    assert ("ops", "alice") in await events("")
    assert await events("actor=ops&action=user.disable") == [("ops", "alice")]
    assert await events("action=user.disable") == [("eve", "bob"), ("ops", "alice")]
    old_day, new_day = _day(clock() - 3 * DAY), _day(clock())
    assert await events(f"actor=ops&until={old_day}") == [("ops", "old/app")]
    assert await events(f"actor=ops&since={new_day}") == [("ops", "alice")]
    assert await events(f"actor=ops&since={old_day}&until={new_day}") == [
        ("ops", "alice"),
        ("ops", "old/app"),
    ]
    await visitor.get(f"/admin/audit?actor=ops&until={old_day}")
    assert '<td data-label="Details">visibility=public</td>' in visitor.text
    assert f'value="{old_day}"' in visitor.text  # the filter form keeps what was asked


async def test_the_audit_log_is_paged(runtime: Runtime, visitor: Visitor) -> None:
    for n in range(60):
        runtime.audit.record(Actor(name="ops", kind="user"), "user.disable", f"u{n:02d}")
    await _admin(visitor)
    await visitor.get("/admin/audit?actor=ops")
    assert visitor.text.count('<td data-label="Time">') == 50
    assert 'href="/ui/admin/audit?actor=ops&amp;page=2" rel="next">Next</a>' in visitor.text
    await visitor.get("/admin/audit?actor=ops&page=2")
    assert visitor.text.count('<td data-label="Time">') == 10


async def test_a_clients_user_agent_is_shown_escaped(runtime: Runtime, visitor: Visitor) -> None:
    """Anyone may fail a sign-in with a user agent of their choosing: a bidi override or a C1
    control in it is shown as an escape on the admin's page, not acted on."""
    runtime.audit.failed_authentication(
        "nobody", "192.0.2.7", "curl/8\u202e\u009b2J", "unknown user"
    )
    runtime.audit.flush()
    runtime.audit.record(Actor(name="ops", kind="user"), "user.disable", "x\u202ey")
    await _admin(visitor)
    await visitor.get("/admin/audit")
    assert "192.0.2.7 curl/8\\u202e\\x9b2J" in visitor.text
    assert '<td data-label="Target">x\\u202ey</td>' in visitor.text
    assert not any(c in visitor.text for c in "\u202e\u2066\u009b")


# Explain


async def test_explain_says_what_is_granted_by_which_rule_and_why_not_the_rest(
    runtime: Runtime, visitor: Visitor
) -> None:
    add_user(runtime, "bob")
    org = add_org(runtime, "acme", "alice")
    runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.MEMBER, CLI_ACTOR)
    team = runtime.organizations.create_team(org, "devs", "", CLI_ACTOR)
    runtime.organizations.add_team_member(org, team, runtime.users.get("bob"), CLI_ACTOR)
    runtime.organizations.set_permission(org, team, "app", TeamPermission.READ, CLI_ACTOR)
    await _admin(visitor)
    await visitor.get("/admin/explain")

    response = await visitor.post(
        "/admin/explain",
        {"subject": "user", "name": "bob", "scope": "repository:acme/app:pull,push"},
    )

    assert response.status == 200
    main = _main(visitor.text)
    assert "For user bob" in main
    granted = main.split("<h3>Granted</h3>", 1)[1].split("<h3>Refused</h3>", 1)
    assert "repository:acme/app: pull" in granted[0]
    assert "devs" in granted[0]  # the rule that grants it
    assert "repository:acme/app: push" in granted[1]
    assert 'value="repository:acme/app:pull,push"' in main  # the form keeps what was asked


async def test_explain_a_token_and_its_refusal(runtime: Runtime, visitor: Visitor) -> None:
    add_token(runtime, "alice", AccessLevel.READ)
    record = runtime.tokens.list_for(runtime.users.get("alice"))[0]
    runtime.tokens.set_active(record, CLI_ACTOR, False)
    await _admin(visitor)
    await visitor.get("/admin/explain")
    await visitor.post(
        "/admin/explain",
        {"subject": "token", "name": record.id, "scope": "repository:alice/app:pull,push"},
    )
    main = _main(visitor.text)
    assert f"For token {record.id} of alice" in main
    assert "The credential itself would be refused" in main


async def test_explain_refuses_a_pasted_token_without_showing_it(
    runtime: Runtime, visitor: Visitor
) -> None:
    pat = add_token(runtime, "alice")
    await _admin(visitor)
    await visitor.get("/admin/explain")
    response = await visitor.post(
        "/admin/explain", {"subject": "token", "name": pat, "scope": "repository:alice/a:pull"}
    )
    assert response.status == 400
    assert "not the token" in visitor.text
    assert pat not in visitor.text


async def _anonymous_pull(visitor: Visitor) -> list[object]:
    answer = await visitor.client.get("/token?service=registry&scope=repository:alice/app:pull")
    assert answer.status == 200, await answer.text()
    claims = jwt.decode((await answer.json())["token"], options={"verify_signature": False})
    return list(claims["access"])


def _day(epoch: float) -> str:
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%d")


# Webhook notifications


async def test_the_notifications_page_shows_deliveries_and_sends_a_failed_one_again(
    runtime: Runtime, visitor: Visitor, clock: FakeClock
) -> None:
    from tests.http.test_hygiene_api import notification

    pending, failed = notification(runtime, clock, 1), notification(runtime, clock, 2)
    runtime.store.finish_notification(
        failed.id, now=int(clock()), delivered=False, status=500, error="HTTP 500", retry_at=None
    )
    await _admin(visitor)
    await visitor.get("/admin/notifications")
    page = _main(visitor.text)
    assert "No webhook is configured" in page
    assert page.count("credential.leaked_revoked") == 2
    assert "personal 0a1B2c3D4e alice" in page and "HTTP 500" in page
    await visitor.get("/admin/notifications?state=failed")
    page = _main(visitor.text)
    assert failed.id in page and pending.id not in page and "given up" in page
    response = await visitor.post(f"/admin/notifications/{failed.id}/retry")
    assert response.status == 200 and response.url.path == "/ui/admin/notifications"
    assert runtime.notifier.get(failed.id).attempts == 0
    assert runtime.notifier.get(failed.id).failed_at is None
    (event,) = runtime.audit.list(AuditQuery(action="notification.retry"))
    assert event.actor == "root"
    # The filter's values are the API's: anything else is a 400, not a 500.
    assert (await visitor.get("/admin/notifications?state=lost")).status == 400
    # Without the page's CSRF token the retry is refused.
    assert (await visitor.post(f"/admin/notifications/{failed.id}/retry", csrf=None)).status == 403
