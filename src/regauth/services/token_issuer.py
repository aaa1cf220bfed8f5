"""The /token decision: authenticate, intersect the asked scopes with policy, sign, record use."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol

from regauth import logs
from regauth.config import LiveConfig
from regauth.domain import policy
from regauth.domain.clock import Clock
from regauth.domain.credentials import Credentials
from regauth.domain.models import Principal, TokenUse
from regauth.domain.redaction import scrub
from regauth.domain.scopes import parse_scopes
from regauth.errors import BadRequest, Unauthorized
from regauth.metrics.counts import DENIED, GRANTED, PARTIAL
from regauth.services.access_tokens import AccessTokenService
from regauth.services.authentication import PASSWORD, SESSION_TOKEN, Authenticator
from regauth.services.decisions import Authorizer
from regauth.services.usage import UsageRecorder
from regauth.signing.batching import BatchSigner
from regauth.signing.jwt import IssuedToken, TokenClaims
from regauth.store.base import Database, UserStore

log = logging.getLogger("regauth.token")


@dataclass(slots=True)  # not frozen: built per /token request, 4x cheaper (never mutated)
class TokenRequest:
    credentials: Credentials | None
    service: str | None
    scopes: Sequence[str]
    account: str | None
    client_ip: str | None
    user_agent: str | None
    # The client asked for a refresh token (offline_token=true / access_type=offline).
    offline: bool = False
    client_id: str | None = None


@dataclass(slots=True)  # not frozen: built per /token request, 4x cheaper (never mutated)
class TokenGrant:
    issued: IssuedToken
    decision: policy.Decision
    principal: Principal
    refresh_token: str | None = None
    # counts.GRANTED (all that was asked), PARTIAL (some of it) or DENIED (none of it).
    outcome: str = GRANTED


class IssuerStore(Database, UserStore, Protocol):
    """The account a password sign-in's session token is made for."""


class TokenIssuer:
    def __init__(
        self,
        *,
        store: IssuerStore,
        authenticator: Authenticator,
        authorizer: Authorizer,
        signer: BatchSigner,
        usage: UsageRecorder,
        tokens: AccessTokenService,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._authenticator = authenticator
        self._authorizer = authorizer
        self._signer = signer
        self._usage = usage
        self._tokens = tokens
        self._settings = settings
        # token.issuer and token.service need a restart (config.RESTART_ONLY): kept here.
        self._config = settings.current.token
        self._services = frozenset(self._config.service)
        self._clock = clock

    async def issue(self, request: TokenRequest) -> TokenGrant:
        audience = self._audience(request.service)
        if (
            request.account
            and request.credentials is not None
            and request.account != request.credentials.username
        ):
            raise BadRequest("account does not match the authenticated user")
        authenticated = await self._authenticator.authenticate_client(
            request.credentials, request.client_ip, request.user_agent
        )
        principal = authenticated.principal
        scopes, rejected = parse_scopes(request.scopes)
        decision = await self._authorizer.decide(principal, scopes)
        now = self._clock()
        issued = await self._signer.issue(
            TokenClaims(
                issuer=self._config.issuer,
                subject=principal.name,
                audience=audience,
                access=decision.claims(),
                now=now,
                ttl=self._settings.current.token.ttl_seconds,
            )
        )
        for grant in decision.granted:
            if grant.type == "repository" and "push" in grant.actions:
                self._usage.record_push_grant(grant.name, int(now))
        if principal.token_id is not None:
            use = TokenUse(int(now), request.client_ip, request.user_agent)
            if principal.is_org_token:
                self._usage.record_org(principal.token_id, use)
            else:
                self._usage.record(principal.token_id, use)
        if decision.denied or rejected:
            logs.event(
                log,
                logging.INFO,
                "scope_denied",
                sub=principal.name,
                token_id=principal.token_id,
                granted=decision.scope_string(),
                denied=[f"{d.type}:{d.name}:{d.action}: {d.reason}" for d in decision.denied],
                rejected=[f"{scrub(r.raw[:300])}: {r.reason}" for r in rejected],
            )
        refresh_token = None
        if request.offline and authenticated.method == PASSWORD:
            refresh_token = await self._store.run(self._session_token, principal, request)
        elif request.offline and authenticated.method == SESSION_TOKEN and request.credentials:
            # A refresh grant asking for offline access gets the same token back: "this will
            # only return the same refresh token and not a new one" (distribution
            # docs/spec/auth/oauth.md, access_type).
            refresh_token = request.credentials.secret
        return TokenGrant(issued, decision, principal, refresh_token, _outcome(decision, rejected))

    def _session_token(self, principal: Principal, request: TokenRequest) -> str:
        """Docker keeps this as its identity token instead of the password: the daemon's login
        returns the token response's refresh_token as IdentityToken (moby registry/auth.go
        loginV2, v20.10) and docker/cli stores it in place of the password
        (cli/command/registry/login.go)."""
        owner = self._store.get_user(principal.name)
        if owner is None:
            raise Unauthorized()
        created = self._tokens.create_session_token(
            owner, client_id=request.client_id, ip=request.client_ip, user_agent=request.user_agent
        )
        return str(created.token)

    def _audience(self, service: str | None) -> str:
        if not service:
            return self._config.service[0]
        if service not in self._services:
            raise BadRequest("unknown service")
        return service


def _outcome(decision: policy.Decision, rejected: Sequence[object]) -> str:
    """A scope refused, or one that could not be read, makes a grant partial (or denied, when
    nothing at all was granted)."""
    if not decision.denied and not rejected:
        return GRANTED
    return PARTIAL if decision.granted else DENIED
