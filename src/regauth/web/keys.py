"""Typed keys for what the pages' application and requests hold."""

from __future__ import annotations

from aiohttp import web

from regauth.web.cookies import CookieSigner

SIGNER = web.AppKey("web_signer", CookieSigner)
PREFIX = web.AppKey("web_prefix", str)
