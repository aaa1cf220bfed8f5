"""The organization token page seen through real clients: an owner generates a token limited
to one repository on the page, and `docker login -u <org>` + `docker push` with it reach that
repository and no other. Driven over HTTP as a browser without JavaScript would (the browser
fixture is helper A's; this branch does not have it yet)."""

from __future__ import annotations

import json

import pytest

from tests.e2e.harness.dockerd import DockerClient
from tests.e2e.harness.pages import Browser
from tests.e2e.harness.regauth import RegauthServer
from tests.e2e.harness.registry import Registry
from tests.support.images import BuiltImage
from tests.support.secrets import remember

pytestmark = pytest.mark.e2e

DENIED = "denied: requested access to the resource is denied"


def test_an_owner_generates_an_org_token_on_the_page_that_pushes_only_where_it_may(
    regauth: RegauthServer, registry: Registry, docker: DockerClient, test_image: BuiltImage
) -> None:
    owner = regauth.cli.new_password_user("weborg")
    org = "webacme"
    key = json.loads(regauth.cli.check("admin-key", "create", "--description", "web", "--json"))
    created = regauth.api.call(
        "POST", "/admin/v1/orgs", body={"name": org, "owner": owner.name}, session_jwt=key["key"]
    )
    assert created.status == 201, created
    browser = Browser(regauth.url)
    assert browser.sign_in(owner.name, owner.password).status == 200

    form = browser.get(f"/orgs/{org}/tokens/new")
    assert form.status == 200, form.text[:2000]
    shown = browser.submit(
        form,
        f"/orgs/{org}/tokens/new",
        {"label": "ci", "repository_1": "app", "pull_1": "on", "push_1": "on"},
    )

    assert shown.status == 200, shown.text[:2000]
    assert shown.headers["Cache-Control"] == "no-store"
    token = remember(shown.field("new-token"))
    assert shown.field("login-command").startswith(f"docker login -u {org} ")
    assert token not in browser.get(f"/orgs/{org}/tokens").text  # listed, never shown again

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
