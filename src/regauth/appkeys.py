"""Typed keys for what the aiohttp application holds."""

from __future__ import annotations

from aiohttp import web

from regauth.forwarding import Network
from regauth.runtime import Runtime
from regauth.services.token_issuer import TokenIssuer
from regauth.throttle import Throttle
from regauth.usage import UsageRecorder

RUNTIME = web.AppKey("runtime", Runtime)
TOKEN_ISSUER = web.AppKey("token_issuer", TokenIssuer)
TRUSTED_PROXIES = web.AppKey("trusted_proxies", tuple[Network, ...])
USAGE = web.AppKey("usage", UsageRecorder)
REVOCATION_LIMIT = web.AppKey("revocation_limit", Throttle)
