"""Typed keys for what the pages' application and requests hold."""

from __future__ import annotations

from aiohttp import web

from regauth.web.cookies import CookieSigner
from regauth.web.shown_once import OnceSealer
from regauth.web.templates import Templates

SIGNER = web.AppKey("web_signer", CookieSigner)
PREFIX = web.AppKey("web_prefix", str)
ONCE = web.AppKey("web_shown_once", OnceSealer)
# The single sign-on start's state, nonce and PKCE verifier, until the provider's answer.
PENDING_SIGN_ON = web.AppKey("web_pending_sign_on", OnceSealer)
TEMPLATES = web.AppKey("web_templates", Templates)
