"""The web page in a real headless Chromium (Debian's), against `regauth serve`, a real
registry and a real dockerd: a token generated on the page pushes and pulls, and what the page
does to it (deactivate, activate, rename, delete) takes effect on docker at once. Controls are
found by their accessible names, as a person (or a screen reader) finds them."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator

import pyotp
import pytest
from playwright.sync_api import Browser, Locator, Page, expect

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.browser import chromium, screenshot
from tests.support.images import BuiltImage

pytestmark = pytest.mark.e2e

LAST_USED_WAIT_SECONDS = 10.0


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    with chromium() as browser:
        yield browser


@pytest.fixture
def page(browser: Browser, regauth: RegauthServer) -> Iterator[Page]:
    context = browser.new_context(base_url=regauth.url, viewport={"width": 1280, "height": 860})
    context.grant_permissions(["clipboard-read", "clipboard-write"], origin=regauth.url)
    page = context.new_page()
    yield page
    context.close()


def _sign_in(page: Page, username: str, secret: str) -> None:
    page.goto("/ui/sign-in")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(secret)
    page.get_by_role("button", name="Sign in").click()


def _row(page: Page, description: str) -> Locator:
    return page.get_by_role("row").filter(
        has=page.get_by_role("cell", name=re.compile(f"^{re.escape(description)}( |$)"))
    )


def _status(row: Locator) -> Locator:
    return row.get_by_role("cell").nth(3)


def _action(page: Page, description: str, name: str) -> None:
    """Open the row's actions menu (a <details>, keyboard-usable) and pick `name`."""
    row = _row(page, description)
    row.get_by_text(f"Actions for {description}").click()
    role = "button" if name in ("Deactivate", "Activate") else "link"  # a form's, or a page's
    row.get_by_role(role, name=name, exact=True).click()


def _push(docker: DockerClient, registry: Registry, image: BuiltImage, user: str, pat: str) -> str:
    login = docker.login(registry.host, user, pat)
    assert login.ok, login
    reference = registry.reference(f"{user}/site")
    docker.load_as(image.docker_archive, image.image_id, reference)
    pushed = docker.run("push", reference)
    assert pushed.ok, pushed
    return reference


def test_a_token_generated_on_the_page_works_with_docker_and_is_managed_there(
    page: Page,
    regauth: RegauthServer,
    registry: Registry,
    docker: DockerClient,
    test_image: BuiltImage,
) -> None:
    user = regauth.cli.new_password_user("web")
    page.goto("/ui/sign-in")
    screenshot(page, "sign-in")
    _sign_in(page, user.name, user.password)
    expect(page.get_by_role("heading", name="Personal access tokens")).to_be_visible()
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()

    # Generate a Read & Write token and read it from the page.
    page.get_by_role("link", name="Generate new token").click()
    page.get_by_label("Description").fill("laptop")
    page.get_by_label("Expiration date", exact=True).select_option(label="30 days")
    page.get_by_label("Read & Write").check()
    screenshot(page, "generate-token")
    page.get_by_role("button", name="Generate").click()
    expect(page.get_by_text("it will not be shown again")).to_be_visible()
    field = page.get_by_label("At the password prompt, enter the personal access token")
    pat = field.input_value()
    assert re.fullmatch(r"rgp_[0-9A-Za-z]+", pat), "no token on the page"
    command = page.get_by_label("Run docker login").input_value()
    assert command.startswith(f"docker login -u {user.name} ")
    page.get_by_role("button", name="Copy").nth(1).click()
    expect(page.get_by_role("button", name="Copied")).to_be_visible()
    assert page.evaluate("navigator.clipboard.readText()") == pat
    screenshot(page, "token-created", mask=[field])

    # docker login + push with it through the real registry.
    reference = _push(docker, registry, test_image, user.name, pat)

    page.get_by_role("link", name="Back to access tokens").click()
    assert pat not in page.content()
    row = _row(page, "laptop")
    expect(_status(row)).to_have_accessible_name("Active")
    expect(row.get_by_role("cell").nth(1)).to_have_accessible_name("Read & Write")
    deadline = time.monotonic() + LAST_USED_WAIT_SECONDS
    while "Never" in row.get_by_role("cell").nth(5).inner_text() and time.monotonic() < deadline:
        time.sleep(0.5)  # last use is written in batches (storage.usage_flush_seconds)
        page.reload()
    last_used = row.get_by_role("cell").nth(5).inner_text()
    assert re.search(r"\d{4}-\d\d-\d\d \d\d:\d\d UTC", last_used), last_used
    assert "from 127.0.0.1" in last_used
    screenshot(page, "tokens")

    # Deactivate: the next pull is refused; Activate: it works again.
    _action(page, "laptop", "Deactivate")
    expect(_status(_row(page, "laptop"))).to_have_accessible_name("Inactive")
    refused = docker.run("pull", reference)
    assert not refused.ok, refused
    assert "personal access token is inactive" in refused.stderr
    _action(page, "laptop", "Activate")
    expect(_status(_row(page, "laptop"))).to_have_accessible_name("Active")
    pulled = docker.run("pull", reference)
    assert pulled.ok, pulled

    # Edit renames (and says the expiration date stays).
    _action(page, "laptop", "Edit")
    expect(page.get_by_text("cannot be edited")).to_be_visible()
    page.get_by_label("Description").fill("laptop (old)")
    page.get_by_role("button", name="Save").click()
    expect(_row(page, "laptop (old)")).to_have_count(1)

    # Delete, after its confirmation page; docker is refused from then on.
    _action(page, "laptop (old)", "Delete")
    expect(page.get_by_role("heading", name="Delete access token")).to_be_visible()
    page.get_by_role("button", name="Delete").click()
    expect(page.get_by_role("heading", name="Personal access tokens")).to_be_visible()
    expect(_row(page, "laptop (old)")).to_have_count(0)
    gone = docker.run("pull", reference)
    assert not gone.ok, gone


def test_a_pat_session_shows_no_actions_and_a_forged_post_is_refused(
    page: Page, regauth: RegauthServer
) -> None:
    user = regauth.cli.new_password_user("webpat")
    pat = regauth.cli.create_pat(user.name, "read")
    uuid = regauth.api.sign_in(user.name, user.password).tokens()[0]["uuid"]

    _sign_in(page, user.name, pat)

    expect(page.get_by_text("this session is read-only")).to_be_visible()
    expect(_status(_row(page, "e2e read"))).to_have_accessible_name("Active")
    expect(page.get_by_role("link", name="Generate new token")).to_have_count(0)
    expect(page.get_by_text("Actions for")).to_have_count(0)
    expect(page.get_by_role("button", name="Deactivate")).to_have_count(0)
    screenshot(page, "tokens-read-only")
    # The page's own CSRF token and cookie: only the session's kind is wrong.
    csrf = page.locator("input[name=csrf_token]").first.input_value()
    forged = page.request.post(
        f"/ui/settings/tokens/{uuid}/deactivate", form={"csrf_token": csrf}, max_redirects=0
    )
    assert forged.status == 403
    assert "personal access token cannot" in forged.text()
    page.reload()
    expect(_status(_row(page, "e2e read"))).to_have_accessible_name("Active")


def test_a_post_without_the_csrf_token_is_refused(page: Page, regauth: RegauthServer) -> None:
    user = regauth.cli.new_password_user("webcsrf")
    _sign_in(page, user.name, user.password)

    forged = page.request.post(
        "/ui/settings/tokens/new",
        form={"description": "forged", "access": "delete", "expiration": "none"},
        max_redirects=0,
    )

    assert forged.status == 403
    assert "not sent from a page of this site" in forged.text()
    page.reload()
    expect(_row(page, "forged")).to_have_count(0)


def test_two_factor_enrolled_from_the_page_then_asked_at_sign_in(
    page: Page, regauth: RegauthServer
) -> None:
    user = regauth.cli.new_password_user("web2fa")
    _sign_in(page, user.name, user.password)
    page.get_by_role("link", name="Two-factor authentication").click()
    page.get_by_role("button", name="Enable two-factor authentication").click()
    expect(page.get_by_role("img", name=re.compile("QR code"))).to_be_visible()
    secret_field = page.get_by_label("Or enter this secret by hand")
    secret = secret_field.input_value()
    screenshot(page, "two-factor-enroll", mask=[secret_field, page.get_by_role("img")])
    page.get_by_label("Code").fill(pyotp.TOTP(secret).now())  # computed from the shown secret
    page.get_by_role("button", name="Confirm").click()
    expect(page.get_by_role("heading", name="Two-factor authentication is on")).to_be_visible()
    recovery = page.get_by_role("list", name="Recovery codes").get_by_role("listitem")
    expect(recovery).to_have_count(10)
    first_recovery_code = recovery.first.inner_text()
    page.get_by_role("button", name="Sign out").click()

    _sign_in(page, user.name, user.password)
    expect(page.get_by_role("heading", name="Two-factor authentication")).to_be_visible()
    screenshot(page, "sign-in-code")
    page.get_by_label("Code").fill("000000")
    page.get_by_role("button", name="Verify").click()
    expect(page.get_by_role("alert")).to_have_text("The two-factor code is not valid.")
    # The code of the step just used is refused as a replay: a recovery code, in the same field.
    page.get_by_label("Code").fill(first_recovery_code)
    page.get_by_role("button", name="Verify").click()

    expect(page.get_by_role("heading", name="Personal access tokens")).to_be_visible()
    expect(page.get_by_text(f"Signed in as {user.name}")).to_be_visible()


def test_the_pages_read_at_320_pixels(browser: Browser, regauth: RegauthServer) -> None:
    user = regauth.cli.new_password_user("webnarrow")
    regauth.cli.create_pat(user.name, "write")
    context = browser.new_context(base_url=regauth.url, viewport={"width": 320, "height": 640})
    try:
        page = context.new_page()
        _sign_in(page, user.name, user.password)
        expect(_row(page, "e2e write")).to_have_count(1)
        assert page.evaluate("document.documentElement.scrollWidth") <= 320
        screenshot(page, "tokens-320px")
        # Keyboard only: the actions menu opens from its summary.
        page.get_by_text("Actions for e2e write").focus()
        page.keyboard.press("Enter")
        expect(page.get_by_role("button", name="Deactivate")).to_be_visible()
    finally:
        context.close()
