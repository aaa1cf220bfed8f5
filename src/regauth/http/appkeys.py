"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from regauth.http.forwarding import TrustedProxies
from regauth.runtime import Runtime

RUNTIME = web.AppKey("runtime", Runtime)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", TrustedProxies)
# For /metrics: a /token's outcome (set by its handler when it grants) and grant type (POST).
TOKEN_OUTCOME = web.RequestKey("token_outcome", str)
TOKEN_GRANT = web.RequestKey("token_grant", str)
