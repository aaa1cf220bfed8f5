"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from regauth.http.forwarding import TrustedProxies
from regauth.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
