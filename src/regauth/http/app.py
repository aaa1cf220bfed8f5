"""create_app: the aiohttp application over a runtime (runtime.py builds every object; this only
wires HTTP: middleware, the access log, routes); tests build it the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

from aiohttp import web

from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.background import add_background
from regauth.http.decoding import MAX_BODY_BYTES
from regauth.http.forwarding import TrustedProxies
from regauth.http.metrics import MetricsEndpoint, add_metrics
from regauth.http.middleware import expect_continue, make_middleware
from regauth.http.routes import ROUTES
from regauth.http.scim import add_scim_routes
from regauth.http.scim_routes import SCIM_ROUTES
from regauth.logs import AccessLog
from regauth.runtime import Runtime
from regauth.services.usage import PeriodicFlusher


def create_app(runtime: Runtime, *, metrics_dir: Path | None = None) -> web.Application:
    """`metrics_dir`: where the workers of one `regauth serve` publish their counts (made by
    it); without one, a private folder (this app's counts alone)."""
    config = runtime.config
    metrics = runtime.metrics if config.metrics.enabled else None
    access_log = (
        AccessLog() if config.server.access_log and config.log.level in ("debug", "info") else None
    )
    app = web.Application(
        middlewares=[make_middleware(access_log=access_log, metrics=metrics)],
        client_max_size=MAX_BODY_BYTES,
        # Bodies arrive as sent and `decoding.decode_content` undoes gzip and deflate with our
        # limits and errors: aiohttp's own decoder raised from inside the protocol (a 500 and a
        # second traceback when it drained the body) and refuses br/zstd with a text/plain 400.
        handler_args={"auto_decompress": False},
    )
    flushers = [*runtime.flushers(), *([access_log.flush] if access_log else [])]
    flusher = PeriodicFlusher(
        flushers, interval=config.storage.usage_flush_seconds, offload=runtime.store.run
    )
    app[RUNTIME] = runtime
    app[TRUSTED_PROXIES] = TrustedProxies(lambda: runtime.config.server.trusted_proxies)

    async def batch_writes(app: web.Application) -> AsyncIterator[None]:
        runtime.store.listen()  # other processes' and replicas' changes reach the caches
        await flusher.start()
        await runtime.key_watcher.start()  # `regauth keys activate` reaches the signer
        yield
        await runtime.key_watcher.stop()
        await flusher.stop()

    # Before the batch writers: stopped after them, it exports the audit events they wrote.
    add_background(app, runtime)
    app.cleanup_ctx.append(batch_writes)
    add_routes(app)
    if config.scim.enabled:
        add_scim_routes(app, SCIM_ROUTES)  # SCIM's own protocol: not in openapi.json
    if metrics is not None:
        # On its own listener ([metrics] listen) the worker serves it (server/worker.py).
        endpoint = MetricsEndpoint(metrics, runtime.census, metrics_dir)
        add_metrics(app, endpoint, route=not config.metrics.listen)
    return app


def add_routes(app: web.Application) -> None:
    """The route table (`routes.py`), each route with our Expect handler: aiohttp's own answers
    an unknown expectation with a text/plain 417 that echoes the header, and with a 500 when the
    header holds bytes that are not UTF-8."""
    for route in ROUTES:
        app.router.add_route(route.method, route.path, route.serve, expect_handler=expect_continue)
