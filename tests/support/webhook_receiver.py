"""A webhook receiver for the tests: a real aiohttp server on loopback that checks each
delivery's signature as a receiver should, keeps what it got, and answers as told."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from aiohttp.test_utils import TestServer

from regauth.domain import webhooks

PATH = "/hooks/regauth"


@dataclass(frozen=True)
class Delivery:
    """One request as the receiver got it."""

    headers: dict[str, str]
    body: bytes
    signature_ok: bool

    @property
    def payload(self) -> dict[str, Any]:
        parsed: dict[str, Any] = json.loads(self.body)
        return parsed

    @property
    def id(self) -> str:
        return self.headers[webhooks.DELIVERY]


@dataclass
class Receiver:
    key: bytes
    # The receiver's clock: the deliveries' timestamps come from regauth's (a test's FakeClock).
    clock: Callable[[], float]
    deliveries: list[Delivery] = field(default_factory=list)
    # Statuses to answer with, in turn; 200 once they are used up.
    statuses: list[int] = field(default_factory=list)
    # Seconds to wait before answering (a receiver too slow for timeout_seconds).
    delay: float = 0.0
    server: TestServer | None = None

    @property
    def url(self) -> str:
        assert self.server is not None
        return str(self.server.make_url(PATH))

    def app(self) -> web.Application:
        app = web.Application()
        app.router.add_post(PATH, self._handle)
        return app

    async def _handle(self, request: web.Request) -> web.Response:
        body = await request.read()
        ok = webhooks.verify(
            self.key,
            timestamp=request.headers.get(webhooks.TIMESTAMP),
            signed=request.headers.get(webhooks.SIGNATURE),
            body=body,
            now=self.clock(),
        )
        self.deliveries.append(Delivery(dict(request.headers), body, ok))
        if self.delay:
            await asyncio.sleep(self.delay)
        status = self.statuses.pop(0) if self.statuses else 200
        return web.Response(status=status, text="ok" if status < 300 else "no")

    def of(self, event: str) -> list[Delivery]:
        return [d for d in self.deliveries if d.headers.get(webhooks.EVENT) == event]
