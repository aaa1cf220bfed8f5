"""The organization token page in a real headless Chromium (Debian's `chromium`, driven by
Playwright for Python): an owner signs in, generates an organization token limited to one
repository, reads it from the page, and docker pushes there with it and nowhere else."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.browser import chromium as browser_chromium
from tests.support.images import BuiltImage
from tests.support.secrets import remember

pytestmark = pytest.mark.e2e

DENIED = "denied: requested access to the resource is denied"


@pytest.fixture(scope="module")
def chromium() -> Iterator[Browser]:
    with browser_chromium() as browser:
        yield browser


@pytest.fixture
def page(chromium: Browser) -> Iterator[Page]:
    context = chromium.new_context(permissions=["clipboard-read", "clipboard-write"])
    yield context.new_page()
    context.close()


def test_an_owner_generates_an_org_token_in_the_browser_that_pushes_only_where_it_may(
    regauth: RegauthServer,
    registry: Registry,
    docker: DockerClient,
    test_image: BuiltImage,
    page: Page,
    tmp_path: Path,
) -> None:
    owner = regauth.cli.new_password_user("browserorg")
    org = "browseracme"
    key = json.loads(regauth.cli.check("admin-key", "create", "--description", "web", "--json"))
    created = regauth.api.call(
        "POST", "/admin/v1/orgs", body={"name": org, "owner": owner.name}, session_jwt=key["key"]
    )
    assert created.status == 201, created

    page.goto(f"{regauth.url}/ui/sign-in")
    page.get_by_label("Username").fill(owner.name)
    page.get_by_label("Password").fill(owner.password)
    page.get_by_role("button", name="Sign in").click()
    page.get_by_role("link", name="Organizations").click()
    page.get_by_role("link", name=org, exact=True).click()
    page.get_by_role("link", name="Organization access tokens").click()
    page.get_by_role("link", name="Generate new token").click()
    page.get_by_label("Label").fill("ci")
    page.get_by_label("Repository 1", exact=True).fill("app")
    page.get_by_label("Push to repository 1").check()
    page.get_by_role("button", name="Generate").click()

    expect(page.get_by_role("heading", name="Copy organization access token")).to_be_visible()
    token = remember(page.get_by_label("enter the organization access token").input_value())
    login_command = page.get_by_label("Run docker login").input_value()
    assert login_command.startswith(f"docker login -u {org} ")
    copy = page.locator("button[data-copy=new-token]")  # its name changes once clicked
    expect(copy).to_have_accessible_name("Copy")
    copy.click()
    expect(copy).to_have_text("Copied")
    assert page.evaluate("navigator.clipboard.readText()") == token
    page.screenshot(path=str(tmp_path / "org-token-created.png"))
    page.get_by_role("link", name="Back to organization access tokens").click()
    expect(page.get_by_role("cell", name="ci", exact=True)).to_be_visible()
    assert token not in page.content()

    login = docker.login(registry.host, org, token)
    assert login.ok, login
    allowed, other = registry.reference(f"{org}/app"), registry.reference(f"{org}/other")
    docker.load_as(test_image.docker_archive, test_image.image_id, allowed)
    pushed = docker.run("push", allowed)
    assert pushed.ok, pushed
    assert docker.run("tag", allowed, other).ok
    refused = docker.run("push", other)
    assert not refused.ok, refused
    assert DENIED in refused.stderr
