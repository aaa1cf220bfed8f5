"""GET /metrics: the app's side of `regauth.metrics` (publishing this worker's counts once a
second, rendering every worker's on a scrape), and the small app that serves it alone on
`[metrics] listen`.

Not in the route table (`routes.py`), so not in the OpenAPI document: it is Prometheus's text
format rather than JSON, for a scraper rather than a client, and it is not on the API's
listener at all when `[metrics] listen` is set.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import shutil
import tempfile
from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from regauth.errors import Unavailable
from regauth.metrics import exposition
from regauth.metrics.counts import Metrics
from regauth.services.token_census import TokenCensus

log = logging.getLogger("regauth.metrics")
METRICS_PATH = "/metrics"


class MetricsEndpoint:
    """This worker's exporter. `directory` is shared by the workers of one `regauth serve`
    (made and removed by it); without one (an app built in a test) a private one is made at
    start and removed at stop."""

    def __init__(self, metrics: Metrics, census: TokenCensus, directory: Path | None) -> None:
        self._metrics = metrics
        self._census = census
        self._directory = directory
        self._exporter: exposition.Exporter | None = None
        self._own_directory: Path | None = None
        self._publishing: asyncio.Task[None] | None = None

    async def start(self) -> None:
        directory = self._directory
        if directory is None:
            directory = self._own_directory = Path(tempfile.mkdtemp(prefix="regauth-metrics-"))
        self._exporter = exposition.Exporter(self._metrics, directory)
        self._exporter.publish()
        self._publishing = asyncio.create_task(self._publish_every_second(self._exporter))

    async def stop(self) -> None:
        if self._publishing is not None:
            self._publishing.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._publishing
        if self._exporter is not None:
            self._exporter.publish()  # the last counts, for the workers that live on
            self._exporter.close()
        if self._own_directory is not None:
            shutil.rmtree(self._own_directory, ignore_errors=True)

    async def _publish_every_second(self, exporter: exposition.Exporter) -> None:
        while True:
            await asyncio.sleep(exposition.PUBLISH_SECONDS)
            exporter.publish()

    async def render(self) -> bytes:
        exporter = self._exporter
        if exporter is None:
            raise Unavailable("metrics are not being published yet")
        exporter.publish()  # this worker's counts are current; the others' at most 1 s old
        tokens: dict[tuple[str, str], int] | None
        try:
            tokens = await self._census.current()
        except Unavailable:
            # The counters still answer while the database does not; only this gauge is left
            # out (and the database errors counter says why).
            tokens = None
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(None, exposition.render, exporter.directory, tokens)


# The app's endpoint; absent when `[metrics] enabled = false`.
METRICS = web.AppKey("metrics", MetricsEndpoint)


async def serve_metrics(request: web.Request) -> web.Response:
    body = await request.app[METRICS].render()
    return web.Response(body=body, headers={"Content-Type": exposition.CONTENT_TYPE})


def add_metrics(app: web.Application, endpoint: MetricsEndpoint, *, route: bool) -> None:
    """Publish while `app` runs; and, with `route`, answer GET /metrics on it."""

    async def publishing(_app: web.Application) -> AsyncIterator[None]:
        await endpoint.start()
        yield
        await endpoint.stop()

    app[METRICS] = endpoint
    app.cleanup_ctx.append(publishing)
    if route:
        app.router.add_get(METRICS_PATH, serve_metrics)


def create_metrics_app(endpoint: MetricsEndpoint) -> web.Application:
    """GET /metrics alone, for `[metrics] listen`; the API's app publishes."""
    app = web.Application()
    app[METRICS] = endpoint
    app.router.add_get(METRICS_PATH, serve_metrics)
    return app
