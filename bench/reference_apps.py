"""Reference servers: `hello` (the HTTP limit) and `sign-only` (the Python limit for /token)."""

from __future__ import annotations

import argparse
import asyncio
import base64
import os
import time

import orjson
from aiohttp import web
from aiohttp.typedefs import Handler
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.hazmat.primitives.asymmetric.utils import decode_dss_signature

TTL_SECONDS = 300
# A constant body about the size of a small token response (~400 bytes).
HELLO_BODY = orjson.dumps(
    {
        "token": "x" * 300,
        "access_token": "hello",
        "expires_in": TTL_SECONDS,
        "issued_at": "2026-01-01T00:00:00Z",
    }
)


def b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


class Es256Signer:
    """ES256 done by hand: key and header encoded once, then claims -> JWS compact form."""

    def __init__(self) -> None:
        self._key = ec.generate_private_key(ec.SECP256R1())
        self._algorithm = ec.ECDSA(hashes.SHA256())
        self._header = b64url(orjson.dumps({"typ": "JWT", "alg": "ES256", "kid": "bench"}))

    def sign(self, claims: dict[str, object]) -> str:
        signing_input = self._header + b"." + b64url(orjson.dumps(claims))
        r, s = decode_dss_signature(self._key.sign(signing_input, self._algorithm))
        signature = r.to_bytes(32, "big") + s.to_bytes(32, "big")
        return (signing_input + b"." + b64url(signature)).decode("ascii")


def _access(scope: str) -> list[dict[str, object]]:
    # The cheapest faithful reading of `repository:NAME:ACTIONS`; no policy, no validation.
    kind, _, rest = scope.partition(":")
    name, _, actions = rest.rpartition(":")
    return [{"type": kind, "name": name, "actions": actions.split(",")}] if name else []


def hello_app() -> web.Application:
    async def hello(_request: web.Request) -> web.Response:
        return web.Response(body=HELLO_BODY, content_type="application/json")

    return _app(hello)


def sign_only_app() -> web.Application:
    signer = Es256Signer()

    async def sign(request: web.Request) -> web.Response:
        now = int(time.time())
        token = signer.sign(
            {
                "iss": "bench",
                "sub": "bench",
                "aud": "registry",
                "exp": now + TTL_SECONDS,
                "nbf": now,
                "iat": now,
                "jti": base64.urlsafe_b64encode(os.urandom(12)).decode("ascii"),
                "access": _access(request.query.get("scope", "")),
            }
        )
        body = {
            "token": token,
            "access_token": token,
            "expires_in": TTL_SECONDS,
            "issued_at": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(now)),
        }
        return web.Response(body=orjson.dumps(body), content_type="application/json")

    return _app(sign)


def _app(handler: Handler) -> web.Application:
    async def healthz(_request: web.Request) -> web.Response:
        return web.Response(text="ok")

    app = web.Application()
    app.router.add_get("/token", handler)
    app.router.add_get("/healthz", healthz)
    return app


APPS = {"hello": hello_app, "sign-only": sign_only_app}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("app", choices=sorted(APPS))
    parser.add_argument("--port", type=int, required=True)
    args = parser.parse_args()
    try:
        import uvloop
    except ImportError:  # compare like with like: regauth uses uvloop only when installed
        pass
    else:
        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    web.run_app(APPS[args.app](), host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
