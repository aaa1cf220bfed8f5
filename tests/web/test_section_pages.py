"""Every organization and administration page, as a whole: the security headers, no inline
script or style (the CSP allows none), a label for each control, one h1."""

from __future__ import annotations

import re

import pytest

from regauth.domain.models import CLI_ACTOR, OrgRole, TeamPermission
from regauth.runtime import Runtime
from tests.support.builders import add_org, add_token, add_user
from tests.web.conftest import Visitor

PAGES = [
    "/orgs", "/orgs/acme", "/orgs/acme/teams/devs", "/orgs/acme/tokens",
    "/orgs/acme/tokens/new", "/admin/users", "/admin/tokens", "/admin/repositories",
    "/admin/audit", "/admin/notifications", "/admin/explain",
]  # fmt: skip
_CONTROL = re.compile(r"<(input|select|textarea)\b([^>]*)>")


@pytest.fixture(autouse=True)
def world(runtime: Runtime) -> None:
    add_user(runtime, "root", admin=True)
    add_user(runtime, "bob")
    add_token(runtime, "bob")
    org = add_org(runtime, "acme", "root")
    runtime.organizations.set_member(org, runtime.users.get("bob"), OrgRole.MEMBER, CLI_ACTOR)
    team = runtime.organizations.create_team(org, "devs", "", CLI_ACTOR)
    runtime.organizations.add_team_member(org, team, runtime.users.get("bob"), CLI_ACTOR)
    runtime.organizations.set_permission(org, team, "app", TeamPermission.READ, CLI_ACTOR)
    runtime.org_tokens.create(
        org, CLI_ACTOR, label="ci", description="", resources={"acme/app": frozenset({"pull"})},
        public_read=False, expires_at=None,
    )  # fmt: skip


@pytest.mark.parametrize("path", PAGES)
async def test_each_page_is_secure_plain_and_labelled(visitor: Visitor, path: str) -> None:
    await visitor.sign_in("root")
    response = await visitor.get(path)
    assert response.status == 200, visitor.text[:2000]
    assert response.headers["Cache-Control"] == "no-store"
    assert "frame-ancestors 'none'" in response.headers["Content-Security-Policy"]
    text = visitor.text
    for inline in ("<script>", "<style", " style=", " onclick"):
        assert inline not in text.lower(), inline
    assert text.count("<h1") == 1
    for _, attributes in _CONTROL.findall(text):
        if 'type="hidden"' in attributes:
            continue
        found = re.search(r'id="([^"]+)"', attributes)
        assert found, f"a control without an id: {attributes}"
        assert f'for="{found.group(1)}"' in text, f"no label for {found.group(1)}"
