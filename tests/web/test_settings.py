"""The [web] settings: the prefix the pages live under (never over the API's paths), off."""

from __future__ import annotations

from pathlib import Path

import pytest
from pytest_aiohttp import AiohttpClient

from regauth.config import load_config
from regauth.errors import ConfigError
from regauth.runtime import open_runtime
from regauth.web.app import create_site
from tests.support.builders import make_config
from tests.support.clock import FakeClock


@pytest.mark.parametrize("prefix", ["/ui", "/account", "/regauth/ui", "/a.b-c_d"])
def test_a_prefix_of_its_own_is_accepted(prefix: str) -> None:
    assert load_config(None, {"REGAUTH_WEB_PATH_PREFIX": prefix}).web.path_prefix == prefix


@pytest.mark.parametrize(
    ("prefix", "says"),
    [
        ("/", "must be a path like /ui"),
        ("ui", "must be a path like /ui"),
        ("/ui/", "must be a path like /ui"),
        ("/u i", "must be a path like /ui"),
        ("/v2", "overlaps the API's paths"),
        ("/v2/ui", "overlaps the API's paths"),
        ("/admin", "overlaps the API's paths"),
        ("/token", "overlaps the API's paths"),
        ("/healthz", "overlaps the API's paths"),
    ],
)
def test_a_prefix_over_the_api_is_refused(prefix: str, says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(None, {"REGAUTH_WEB_PATH_PREFIX": prefix})


@pytest.mark.parametrize(
    ("env", "says"),
    [
        ({"REGAUTH_WEB_IDLE_TIMEOUT_SECONDS": "5"}, "web.idle_timeout_seconds"),
        ({"REGAUTH_WEB_REGISTRY_HOST": "a b"}, "web.registry_host"),
        ({"REGAUTH_WEB_ENABLED": "maybe"}, "web.enabled"),
    ],
)
def test_other_bad_values_name_their_key(env: dict[str, str], says: str) -> None:
    with pytest.raises(ConfigError, match=says):
        load_config(None, env)


def test_the_example_config_holds_the_defaults() -> None:
    example = Path(__file__).parents[2] / "config" / "regauth.example.toml"
    assert load_config(example, {}).web == load_config(None, {}).web


@pytest.mark.parametrize(("enabled", "status"), [(True, 200), (False, 404)])
async def test_the_pages_can_be_turned_off(
    tmp_path: Path, clock: FakeClock, aiohttp_client: AiohttpClient, enabled: bool, status: int
) -> None:
    runtime = open_runtime(make_config(tmp_path, web={"enabled": enabled}), clock=clock)
    try:
        client = await aiohttp_client(create_site(runtime))
        assert (await client.get("/ui/sign-in")).status == status
        assert (await client.get("/healthz")).status == 200
    finally:
        runtime.close()


async def test_another_prefix_moves_every_link(
    tmp_path: Path, clock: FakeClock, aiohttp_client: AiohttpClient
) -> None:
    runtime = open_runtime(make_config(tmp_path, web={"path_prefix": "/id/web"}), clock=clock)
    try:
        client = await aiohttp_client(create_site(runtime))
        response = await client.get("/id/web/sign-in")
        text = await response.text()
        assert response.status == 200
        assert 'action="/id/web/sign-in"' in text
        assert 'href="/id/web/static/site.css"' in text
        assert "Path=/id/web/" in response.headers["Set-Cookie"]
        assert (await client.get("/id/web/static/site.css")).status == 200
    finally:
        runtime.close()
