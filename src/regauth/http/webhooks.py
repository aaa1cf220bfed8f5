"""The webhook's HTTP client: POSTs a signed body and says what the receiver answered."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping

import aiohttp

from regauth.services.webhooks import DeliveryFailed

USER_AGENT = "regauth-webhook/1"


def client_session() -> aiohttp.ClientSession:
    """No proxy from the environment (trust_env): the receiver is the one configured. No
    cookies kept between deliveries, and answers are not decompressed (never read)."""
    return aiohttp.ClientSession(
        trust_env=False,
        cookie_jar=aiohttp.DummyCookieJar(),
        auto_decompress=False,
        headers={"User-Agent": USER_AGENT},
    )


class AiohttpSender:
    def __init__(self, session: aiohttp.ClientSession) -> None:
        self._session = session

    async def post(
        self, url: str, body: bytes, headers: Mapping[str, str], *, wait_seconds: float
    ) -> int:
        """The receiver's status. A redirect is not followed (a receiver that moved answers
        3xx, which counts as a failure), and its body is never read."""
        try:
            async with self._session.post(
                url,
                data=body,
                headers=dict(headers),
                timeout=aiohttp.ClientTimeout(total=wait_seconds),
                allow_redirects=False,
            ) as response:
                return response.status
        except TimeoutError:
            raise DeliveryFailed("timeout") from None
        except aiohttp.ClientConnectorError:
            raise DeliveryFailed("cannot connect") from None
        except (aiohttp.ClientError, asyncio.IncompleteReadError) as exc:
            # The class only: its message can quote the URL, which may hold credentials.
            raise DeliveryFailed(type(exc).__name__) from None
