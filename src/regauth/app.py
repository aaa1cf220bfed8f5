"""create_app: the aiohttp application, built from a runtime; tests build it the same way."""

from __future__ import annotations

from collections.abc import AsyncIterator

from aiohttp import web

from regauth.appkeys import RUNTIME, TOKEN_ISSUER, TRUSTED_PROXIES, USAGE
from regauth.forwarding import parse_networks
from regauth.handlers import health, token
from regauth.middleware import make_middleware
from regauth.runtime import Runtime
from regauth.services.token_issuer import TokenIssuer
from regauth.signing import TokenSigner
from regauth.usage import PeriodicFlusher, UsageRecorder

# Token requests are tiny; a larger body is not a client we know.
MAX_BODY_BYTES = 64 * 1024


def create_app(runtime: Runtime) -> web.Application:
    config = runtime.config
    app = web.Application(
        middlewares=[make_middleware(access_log=config.server.access_log)],
        client_max_size=MAX_BODY_BYTES,
    )
    usage = UsageRecorder(runtime.store)
    flusher = PeriodicFlusher(
        [usage.flush, runtime.audit.flush], interval=config.storage.usage_flush_seconds
    )
    app[RUNTIME] = runtime
    app[USAGE] = usage
    app[TRUSTED_PROXIES] = parse_networks(config.server.trusted_proxies)
    app[TOKEN_ISSUER] = TokenIssuer(
        store=runtime.store,
        authenticator=runtime.authenticator,
        signer=TokenSigner(runtime.keyring.active, include_x5c=config.keys.x5c),
        usage=usage,
        audit=runtime.audit,
        config=config.token,
        clock=runtime.clock,
    )

    async def batch_writes(app: web.Application) -> AsyncIterator[None]:
        await flusher.start()
        yield
        await flusher.stop()

    app.cleanup_ctx.append(batch_writes)
    app.router.add_get("/token", token.get_token)
    app.router.add_post("/token", token.post_token)
    app.router.add_get("/healthz", health.healthz)
    return app
