"""Micro-benchmark: what the input boundary adds to reading a GET /token request.

    .venv/bin/python bench/input_boundary.py

Times reading a docker-like GET /token's input (credentials, client, query) through
`handlers/common.py` against the same reads without the checks (what `token.get_token` did
before the boundary), on one parsed request, so both pay aiohttp's parsing once and the
difference is the checks alone. Prints microseconds per request for each and the difference;
then the same input with the query read into its model (`RegistryTokenQuery`, as every other
route reads its query), which is why `/token` keeps its hand-written reads.
"""

from __future__ import annotations

import asyncio
import base64
import timeit

from aiohttp import hdrs, web
from aiohttp.test_utils import make_mocked_request

from regauth.domain.credentials import parse_authorization
from regauth.http.appkeys import TRUSTED_PROXIES
from regauth.http.forwarding import TrustedProxies, client_ip
from regauth.http.handlers.common import (
    authorization,
    client,
    query_all,
    query_bool,
    query_model,
    query_text,
)
from regauth.http.models.registry import RegistryTokenQuery

QUERY = "service=registry&scope=repository:alice/app:pull,push&account=alice&offline_token=true&client_id=docker"
HEADERS = {
    "Authorization": "Basic "
    + base64.b64encode(b"alice:rgp_0000000000000000000000000000000000000000000000xx").decode(),
    "User-Agent": "docker/24.0.7 go/go1.20.10 git-commit/311b9ff kernel/6.1.0 os/linux arch/amd64",
    "Accept-Encoding": "gzip",
    "Connection": "close",
}


def checked(request: web.Request) -> tuple[object, ...]:
    ip, agent = client(request)
    return (
        parse_authorization(authorization(request)),
        query_text(request, "service"),
        query_all(request, "scope"),
        query_text(request, "account"),
        ip,
        agent,
        query_bool(request, "offline_token", default=False),
        query_text(request, "client_id"),
    )


def modelled(request: web.Request) -> tuple[object, ...]:
    ip, agent = client(request)
    query = query_model(request, RegistryTokenQuery)
    return (
        parse_authorization(authorization(request)),
        query.service,
        query.scope,
        query.account,
        ip,
        agent,
        query.offline_token,
        query.client_id,
    )


def unchecked(request: web.Request) -> tuple[object, ...]:
    query = request.query
    agent = request.headers.get(hdrs.USER_AGENT)
    ip = client_ip(
        request.remote,
        request.headers.get("X-Forwarded-For"),
        request.app[TRUSTED_PROXIES].networks,
    )
    return (
        parse_authorization(request.headers.get(hdrs.AUTHORIZATION)),
        query.get("service"),
        query.getall("scope", []),
        query.get("account"),
        ip,
        agent[:256] if agent else None,
        query.get("offline_token", "").lower() == "true",
        query.get("client_id"),
    )


def per_request_us(function: object, request: web.Request, number: int = 100_000) -> float:
    # the fastest of 9: the least disturbed by other work on the machine (timeit's advice)
    runs = timeit.repeat(lambda: function(request), number=number, repeat=9)  # type: ignore[operator]
    return min(runs) / number * 1e6


async def main() -> None:
    app = web.Application()
    app[TRUSTED_PROXIES] = TrustedProxies(tuple)
    request = make_mocked_request("GET", f"/token?{QUERY}", headers=HEADERS, app=app)
    assert checked(request) == unchecked(request) == modelled(request)
    before, after = per_request_us(unchecked, request), per_request_us(checked, request)
    print(f"without checks {before:.2f} µs, with {after:.2f} µs: {after - before:+.2f} µs")
    model = per_request_us(modelled, request)
    print(f"the query read into its model {model:.2f} µs: {model - after:+.2f} µs more")


if __name__ == "__main__":
    asyncio.run(main())
