"""GET /metrics through the real app: /token's answers counted by outcome and grant, failed
sign-ins by reason, the stored tokens' gauge, caches and signing batches."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from aiohttp import web
from prometheus_client.parser import text_string_to_metric_families
from pytest_aiohttp import AiohttpClient

from regauth.config import Config, LiveConfig
from regauth.domain.models import AccessLevel
from regauth.errors import Unavailable
from regauth.http.app import create_app
from regauth.http.middleware import make_middleware
from regauth.metrics.counts import Metrics
from regauth.runtime import Runtime
from tests.support.builders import Client, add_token, add_user, basic, make_config, reconfigured

Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


@pytest.fixture
def config(tmp_path: Path, contract_database: str | None) -> Config:
    # Two failed sign-ins, then the next is throttled (the clock is pinned: it stays locked).
    config = make_config(tmp_path, limits={"failures_per_user_ip": 2})
    if contract_database is not None:
        config = reconfigured(config, storage={"url": contract_database})
    return config


@pytest.fixture(autouse=True)
def accounts(runtime: Runtime) -> None:
    add_user(runtime, "alice")
    add_user(runtime, "mallory")


async def scrape(client: Client) -> Samples:
    response = await client.get("/metrics")
    assert response.status == 200
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(await response.text())
        for s in family.samples
    }


def requests_total(samples: Samples, outcome: str, grant: str = "get") -> float:
    key = ("regauth_token_requests_total", (("grant", grant), ("outcome", outcome)))
    return samples[key]


async def test_token_answers_are_counted_by_outcome_and_grant(
    client: Client, runtime: Runtime
) -> None:
    write = add_token(runtime, "alice", AccessLevel.WRITE)
    read = add_token(runtime, "alice", AccessLevel.READ)
    before = await scrape(client)
    assert requests_total(before, "granted") == 0  # every series is there from the start

    async def get(query: str, headers: dict[str, str]) -> int:
        return (await client.get(f"/token?{query}", headers=headers)).status

    assert await get("scope=repository:alice/app:pull,push", basic("alice", write)) == 200
    assert await get("scope=repository:alice/app:pull,push", basic("alice", write)) == 200
    assert await get("scope=repository:alice/app:pull,push", basic("alice", read)) == 200
    assert await get("scope=repository:mallory/app:pull", basic("alice", write)) == 200
    form = {"grant_type": "password", "username": "alice", "password": write, "scope": ""}
    assert (await client.post("/token", data=form)).status == 200
    assert await get("scope=repository:alice/app:pull", basic("alice", "wrong")) == 401
    assert await get("scope=repository:alice/app:pull", basic("alice", "wrong")) == 401
    assert await get("scope=repository:alice/app:pull", basic("alice", "wrong")) == 429
    assert await get("service=elsewhere", basic("alice", write)) == 400
    assert (await client.post("/token", data={"grant_type": "magic"})).status == 400
    refresh = {"grant_type": "refresh_token", "refresh_token": "rgs_not_a_session_token"}
    assert (await client.post("/token", data=refresh)).status in (400, 401)

    after = await scrape(client)
    assert requests_total(after, "granted") == 2
    assert requests_total(after, "partial") == 1  # a read token asking to push
    assert requests_total(after, "denied") == 1  # another user's private repository
    assert requests_total(after, "unauthorized") == 2
    assert requests_total(after, "throttled") == 1
    assert requests_total(after, "bad_request") == 1  # an unknown service
    assert requests_total(after, "granted", "password") == 1
    assert requests_total(after, "bad_request", "other") == 1  # an unsupported grant type
    refreshed = requests_total(after, "unauthorized", "refresh") + requests_total(
        after, "bad_request", "refresh"
    )
    assert refreshed == 1
    duration = ("regauth_token_request_duration_seconds_count", ())
    assert after[duration] == 11
    inf = ("regauth_token_request_duration_seconds_bucket", (("le", "+Inf"),))
    assert after[inf] == 11
    # Every granted answer signed one token, in batches.
    assert after[("regauth_signing_batch_size_sum", ())] == 5

    failures = {
        labels[0][1]: value
        for (name, labels), value in after.items()
        if name == "regauth_signin_failures_total"
    }
    assert failures["incorrect"] == 2
    assert failures["throttled"] == 1
    # The write token, verified once, was answered from memory the second and third time.
    assert after[("regauth_cache_hits_total", (("cache", "token_verification"),))] >= 2
    assert after[("regauth_password_checks_in_flight", ())] == 0
    assert after[("regauth_tokens", (("kind", "personal"), ("state", "active")))] == 2
    assert after[("regauth_tokens", (("kind", "session"), ("state", "active")))] == 0
    assert after[("regauth_database_errors_total", ())] == 0


async def test_the_tokens_gauge_is_counted_again_after_its_cache_time(
    client: Client, runtime: Runtime, clock: object
) -> None:
    add_token(runtime, "alice")
    key = ("regauth_tokens", (("kind", "personal"), ("state", "active")))
    assert (await scrape(client))[key] == 1
    add_token(runtime, "alice")
    assert (await scrape(client))[key] == 1  # cached: a scrape never loads the database
    clock.advance(11)  # type: ignore[attr-defined]
    assert (await scrape(client))[key] == 2


async def test_no_metrics_when_disabled(
    runtime: Runtime, config: Config, aiohttp_client: AiohttpClient, tmp_path: Path
) -> None:
    disabled = reconfigured(config, metrics={"enabled": False})
    app = create_app(dataclasses.replace(runtime, settings=LiveConfig(disabled)))
    client = await aiohttp_client(app)
    assert (await client.get("/metrics")).status == 404


async def test_a_database_that_does_not_answer_is_counted(aiohttp_client: AiohttpClient) -> None:
    metrics = Metrics()

    async def unavailable(_request: web.Request) -> web.Response:
        raise Unavailable()

    app = web.Application(middlewares=[make_middleware(access_log=None, metrics=metrics)])
    app.router.add_get("/token", unavailable)
    client = await aiohttp_client(app)
    assert (await client.get("/token")).status == 503
    assert metrics.database_errors == 1
    assert metrics.token_requests["unavailable", "get"] == 1
