"""GET /healthz: the process is serving and its database answers."""

from __future__ import annotations

from aiohttp import web

from regauth.http.appkeys import RUNTIME


async def healthz(request: web.Request) -> web.Response:
    request.app[RUNTIME].store.ping()
    return web.json_response({"status": "ok"})
