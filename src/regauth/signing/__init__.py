"""Signing registry tokens: keys and certificates, JWTs, signing in batches; no aiohttp, no store."""
