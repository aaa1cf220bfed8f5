"""GET /healthz: the process is serving and its database answers."""

from __future__ import annotations

from aiohttp import web

from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call
from regauth.http.models.registry import Health

_OK = Health(status="ok")


async def healthz(request: web.Request) -> Health:
    """Liveness and readiness

    200 when the process serves requests and its database answers; a 503 (regauth's error
    body, `Retry-After`) when the database does not: a balancer takes the replica out.
    """
    await call(request, request.app[RUNTIME].store.ping)
    return _OK
