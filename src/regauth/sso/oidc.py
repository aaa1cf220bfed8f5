"""OpenID Connect sign-in, the relying party's side: discovery (cached), the authorization code
flow with PKCE (S256), `state` and `nonce`, the code exchange, the ID token's checks
(id_tokens.py) and, where the ID token lacks a claim, the userinfo endpoint. What it returns
(oidc_claims.py) is who the provider says the person is; what that person may be here is the
services' call."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import hmac
import logging
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urlsplit, urlunsplit

import aiohttp
import orjson

from regauth import logs
from regauth.config import LiveConfig, OidcConfig
from regauth.domain.clock import Clock
from regauth.domain.identities import ExternalIdentity
from regauth.errors import ConfigError
from regauth.sso import id_tokens, oidc_claims
from regauth.sso.errors import (
    IdentityProviderFailed,
    SignOnFailed,
    SignOnRefused,
    SignOnStateMismatch,
)

log = logging.getLogger("regauth.sso")

DISCOVERY_PATH = "/.well-known/openid-configuration"
DISCOVERY_TTL_SECONDS = 3600
TIMEOUT_SECONDS = 10.0
# No provider's answer comes near this; a larger one is not read into memory.
MAX_ANSWER_BYTES = 1 << 20
# An OAuth error code (RFC 6749 §4.1.2.1) as a page may show it; anything else is not echoed.
_ERROR_CODE = re.compile(r"[a-z_]{1,64}")


@dataclass(frozen=True, slots=True)
class PendingSignIn:
    """What the browser keeps (sealed) between the redirect to the provider and its answer."""

    issuer: str
    state: str
    nonce: str
    code_verifier: str
    redirect_uri: str


@dataclass(frozen=True, slots=True)
class Authorization:
    """Where to send the browser, and what to keep until it comes back."""

    url: str
    pending: PendingSignIn


@dataclass(frozen=True, slots=True)
class ProviderMetadata:
    """The parts of the discovery document regauth uses."""

    issuer: str
    authorization_endpoint: str
    token_endpoint: str
    jwks_uri: str
    userinfo_endpoint: str | None
    token_auth_methods: tuple[str, ...]
    # RFC 9207: the provider names itself in its answers (a mix-up attack is then seen).
    iss_parameter: bool


class _Provider:
    """One issuer's metadata and keys, as fetched."""

    def __init__(self, metadata: ProviderMetadata, keys: id_tokens.KeySet, at: float) -> None:
        self.metadata = metadata
        self.keys = keys
        self.fetched_at = at


class OidcClient:
    """The relying party for the provider of `[oidc]`, read at each use (a reload that changes
    the issuer starts over with the new one)."""

    def __init__(
        self,
        settings: LiveConfig,
        *,
        clock: Clock,
        timeout_seconds: float = TIMEOUT_SECONDS,
        jwks_refetch_seconds: float = id_tokens.JWKS_REFETCH_SECONDS,
    ) -> None:
        self._settings = settings
        self._clock = clock
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)
        self._jwks_refetch = jwks_refetch_seconds
        self._provider: _Provider | None = None
        self._lock = asyncio.Lock()

    @property
    def config(self) -> OidcConfig:
        return self._settings.current.oidc

    async def keys(self) -> id_tokens.KeySet:
        return (await self._discovered()).keys

    async def metadata(self) -> ProviderMetadata:
        return (await self._discovered()).metadata

    async def begin(self, redirect_uri: str) -> Authorization:
        """The authorization request (code flow, PKCE S256), its secrets fresh from `secrets`."""
        config, metadata = self.config, await self.metadata()
        pending = PendingSignIn(
            issuer=config.issuer,
            state=secrets.token_urlsafe(32),
            nonce=secrets.token_urlsafe(32),
            code_verifier=secrets.token_urlsafe(48),
            redirect_uri=redirect_uri,
        )
        params = {
            "response_type": "code",
            "client_id": config.client_id,
            "redirect_uri": redirect_uri,
            "scope": " ".join(config.scopes),
            "state": pending.state,
            "nonce": pending.nonce,
            "code_challenge": code_challenge(pending.code_verifier),
            "code_challenge_method": "S256",
        }
        return Authorization(_with_query(metadata.authorization_endpoint, params), pending)

    async def finish(self, pending: PendingSignIn, answer: Mapping[str, str]) -> ExternalIdentity:
        """Who signed in, from the provider's answer at the redirect URI (its query)."""
        config = self.config
        if not hmac.compare_digest(answer.get("state", ""), pending.state):
            raise SignOnStateMismatch()
        if pending.issuer != config.issuer:
            raise SignOnStateMismatch("the sign-in was started for another identity provider")
        metadata = await self.metadata()
        iss = answer.get("iss")
        if (iss is not None and iss != metadata.issuer) or (iss is None and metadata.iss_parameter):
            raise SignOnFailed("this answer is not from the configured identity provider")
        error = answer.get("error")
        if error is not None:
            raise _provider_said_no(error)
        code = answer.get("code")
        if not code:
            raise SignOnFailed("the identity provider's answer has no authorization code")
        tokens = await self._exchange(metadata, pending, code)
        expected = id_tokens.Expected(metadata.issuer, config.client_id, pending.nonce)
        claims = await id_tokens.verify(
            tokens["id_token"], await self.keys(), expected, self._clock
        )
        if oidc_claims.lacks(claims, config) and metadata.userinfo_endpoint:
            claims = await self._with_userinfo(metadata.userinfo_endpoint, tokens, claims)
        return oidc_claims.identity(metadata.issuer, claims, config)

    async def _exchange(
        self, metadata: ProviderMetadata, pending: PendingSignIn, code: str
    ) -> dict[str, str]:
        """The code and the PKCE verifier for the tokens (RFC 6749 §4.1.3, RFC 7636 §4.5)."""
        config, secret = self.config, client_secret(self.config)
        form = {
            "grant_type": "authorization_code",
            "code": code,
            "redirect_uri": pending.redirect_uri,
            "code_verifier": pending.code_verifier,
        }
        headers = {}
        methods = metadata.token_auth_methods
        if "client_secret_basic" in methods:
            # RFC 6749 §2.3.1: each part form-encoded before the Basic encoding.
            pair = f"{_form_encode(config.client_id)}:{_form_encode(secret)}"
            headers["Authorization"] = "Basic " + base64.b64encode(pair.encode()).decode()
        elif "client_secret_post" in methods:
            form.update(client_id=config.client_id, client_secret=secret)
        else:
            raise IdentityProviderFailed(
                "the identity provider accepts neither client_secret_basic nor client_secret_post"
            )
        status, answer = await self._call("POST", metadata.token_endpoint, "token", form, headers)
        if status != 200:
            error = answer.get("error")
            if error == "invalid_client":
                raise IdentityProviderFailed(
                    "the identity provider did not accept regauth's client credentials: "
                    "check [oidc] client_id and client_secret_file"
                )
            raise SignOnFailed(
                f"the identity provider did not accept the authorization code ({_code(error)}): "
                "start again"
            )
        id_token, access_token = answer.get("id_token"), answer.get("access_token")
        if not isinstance(id_token, str) or not id_token:
            raise IdentityProviderFailed("the identity provider sent no ID token (scope openid?)")
        tokens = {"id_token": id_token}
        if isinstance(access_token, str) and access_token:
            tokens["access_token"] = access_token
        return tokens

    async def _with_userinfo(
        self, endpoint: str, tokens: dict[str, str], claims: dict[str, Any]
    ) -> dict[str, Any]:
        """The ID token's claims, completed from userinfo (OIDC Core §5.3): its `sub` must be the
        ID token's, else it is about someone else (§5.3.2)."""
        access_token = tokens.get("access_token")
        if access_token is None:
            return claims
        headers = {"Authorization": f"Bearer {access_token}"}
        status, info = await self._call("GET", endpoint, "userinfo", None, headers)
        if status != 200:
            raise IdentityProviderFailed(f"the identity provider's userinfo answered {status}")
        if info.get("sub") != claims["sub"]:
            raise IdentityProviderFailed("the identity provider's userinfo is about someone else")
        return {**info, **claims}

    async def _discovered(self) -> _Provider:
        issuer = self.config.issuer
        if not issuer:
            raise SignOnFailed("single sign-on is not configured")
        async with self._lock:
            now = self._clock()
            provider = self._provider
            if (
                provider is None
                or provider.metadata.issuer != issuer
                or now - provider.fetched_at >= DISCOVERY_TTL_SECONDS
            ):
                metadata = await self._discover(issuer)
                # A new key set only for a new issuer or new keys location: keys stay cached.
                if provider is not None and provider.metadata.jwks_uri == metadata.jwks_uri:
                    keys = provider.keys
                else:
                    keys = id_tokens.KeySet(
                        lambda: self._get_json(metadata.jwks_uri, "JWKS"),
                        clock=self._clock,
                        refetch_seconds=self._jwks_refetch,
                    )
                provider = self._provider = _Provider(metadata, keys, now)
            return provider

    async def _discover(self, issuer: str) -> ProviderMetadata:
        document = await self._get_json(issuer.rstrip("/") + DISCOVERY_PATH, "discovery")
        # OIDC Discovery §4.3: exactly the issuer configured, or someone else's document.
        if document.get("issuer") != issuer:
            raise IdentityProviderFailed(
                "the identity provider's discovery document names another issuer: "
                "check [oidc] issuer (it must match exactly, trailing '/' included)"
            )
        endpoints = {}
        for name in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            value = document.get(name)
            if not isinstance(value, str) or not value.startswith(("https://", "http://")):
                raise IdentityProviderFailed(f"the identity provider's discovery has no {name}")
            endpoints[name] = value
        userinfo = document.get("userinfo_endpoint")
        methods = document.get("token_endpoint_auth_methods_supported", ["client_secret_basic"])
        return ProviderMetadata(
            issuer=issuer,
            userinfo_endpoint=userinfo if isinstance(userinfo, str) else None,
            token_auth_methods=tuple(m for m in methods if isinstance(m, str))
            if isinstance(methods, list)
            else (),
            iss_parameter=document.get("authorization_response_iss_parameter_supported") is True,
            **endpoints,
        )

    async def _get_json(self, url: str, what: str) -> dict[str, Any]:
        status, document = await self._call("GET", url, what, None, {})
        if status != 200:
            raise IdentityProviderFailed(f"the identity provider's {what} answered {status}")
        return document

    async def _call(
        self,
        method: str,
        url: str,
        what: str,
        form: dict[str, str] | None,
        headers: dict[str, str],
    ) -> tuple[int, dict[str, Any]]:
        """One request to the provider: its status and JSON object. The log gets what was asked
        and why it failed, never a header or a body (they hold the secret, the code, tokens)."""
        try:
            async with (
                aiohttp.ClientSession(timeout=self._timeout) as http,
                http.request(
                    method,
                    url,
                    data=form,
                    headers={"Accept": "application/json", **headers},
                    allow_redirects=False,
                ) as response,
            ):
                status, body = response.status, await _read_limited(response)
        except (aiohttp.ClientError, TimeoutError, ValueError) as exc:
            logs.event(
                log, logging.WARNING, "oidc_provider_failed", what=what, error=type(exc).__name__
            )
            raise IdentityProviderFailed(
                f"the identity provider cannot be reached ({what}): try again later"
            ) from None
        try:
            document = orjson.loads(body)
        except orjson.JSONDecodeError:
            document = None
        if not isinstance(document, dict):
            logs.event(log, logging.WARNING, "oidc_provider_failed", what=what, status=status)
            raise IdentityProviderFailed(f"the identity provider's {what} answer is not JSON")
        return status, document


def code_challenge(verifier: str) -> str:
    """RFC 7636 §4.2, S256."""
    digest = hashlib.sha256(verifier.encode("ascii")).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


def client_secret(config: OidcConfig) -> str:
    """Read at each exchange, so a rotated secret file takes effect without a restart."""
    try:
        secret = Path(config.client_secret_file).read_text(encoding="utf-8").strip()
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(
            f"oidc.client_secret_file: cannot read {config.client_secret_file}: "
            f"{type(exc).__name__}"
        ) from None
    if not secret:
        raise ConfigError(f"oidc.client_secret_file: {config.client_secret_file} is empty")
    return secret


async def _read_limited(response: aiohttp.ClientResponse) -> bytes:
    body = bytearray()
    async for chunk in response.content.iter_chunked(65536):
        body += chunk
        if len(body) > MAX_ANSWER_BYTES:
            raise ValueError("answer too large")
    return bytes(body)


def _with_query(endpoint: str, params: dict[str, str]) -> str:
    """The endpoint with `params` added to a query it may already have."""
    parts = urlsplit(endpoint)
    query = f"{parts.query}&{urlencode(params)}" if parts.query else urlencode(params)
    return urlunsplit(parts._replace(query=query))


def _form_encode(value: str) -> str:
    return urlencode({"": value})[1:]


def _code(error: object) -> str:
    return error if isinstance(error, str) and _ERROR_CODE.fullmatch(error) else "error"


def _provider_said_no(error: str) -> SignOnFailed:
    """The provider's `error` answer (its error_description is not shown: anyone can put text
    in a link to the redirect URI)."""
    if error == "access_denied":
        return SignOnRefused("the identity provider did not sign you in (access_denied)")
    return SignOnFailed(
        f"the identity provider could not sign you in ({_code(error)}): start again"
    )
