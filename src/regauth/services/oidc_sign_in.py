"""Single sign-on with the company's OpenID Provider: what the provider says (regauth.sso.oidc)
held to regauth's own rule ([oidc] allowed_groups), then the account it links to
(provisioning) and a session for it. A refusal is counted like a failed password."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from regauth.config import LiveConfig
from regauth.domain import caseless
from regauth.domain.identities import ExternalIdentity
from regauth.domain.models import User
from regauth.errors import RegauthError
from regauth.services.audit import AuditLog
from regauth.services.provisioning import Provisioning
from regauth.services.sessions import SessionService
from regauth.sso.errors import SignOnFailed, SignOnRefused
from regauth.sso.oidc import Authorization, OidcClient, PendingSignIn

DEFAULT_BUTTON = "single sign-on"


@dataclass(frozen=True, slots=True)
class SignedOn:
    user: User
    # An account-API session (what the web page's boundary begins a page session from).
    api_session: str


class OidcSignIn:
    def __init__(
        self,
        client: OidcClient,
        provisioning: Provisioning,
        sessions: SessionService,
        audit: AuditLog,
        *,
        settings: LiveConfig,
    ) -> None:
        self._client = client
        self._provisioning = provisioning
        self._sessions = sessions
        self._audit = audit
        self._settings = settings

    @property
    def button(self) -> str | None:
        """What the sign-in page's button says after "Sign in with"; None: no button."""
        oidc = self._settings.current.oidc
        return (oidc.display_name or DEFAULT_BUTTON) if oidc.enabled else None

    async def begin(self, redirect_uri: str) -> Authorization:
        if not self._settings.current.oidc.enabled:
            raise SignOnFailed("single sign-on is not configured")
        return await self._client.begin(redirect_uri)

    async def finish(
        self,
        pending: PendingSignIn,
        answer: Mapping[str, str],
        ip: str | None,
        user_agent: str | None,
    ) -> SignedOn:
        """The provider's answer at the redirect URI, to a signed-in account. Nothing is made
        or changed in regauth unless the answer and the person pass every check."""
        identity: ExternalIdentity | None = None
        try:
            identity = await self._client.finish(pending, answer)
            self._check_groups(identity)
            user = await self._provisioning.sign_in(identity, ip, user_agent)
        except RegauthError as exc:
            if exc.status < 500:
                # The provider's name only: it is a name someone really signed in with there.
                name = identity.username if identity is not None else ""
                self._audit.failed_authentication(name, ip, user_agent, f"oidc: {exc.message}")
            raise
        return SignedOn(user, self._sessions.external_session(user))

    def _check_groups(self, identity: ExternalIdentity) -> None:
        allowed = self._settings.current.oidc.allowed_groups
        if not allowed:
            return
        # Without case, ASCII letters only, as the group mappings compare them ([groups]).
        wanted = {caseless.key(group) for group in allowed}
        if not any(caseless.key(group) in wanted for group in identity.groups):
            raise SignOnRefused(
                "your account at the identity provider is not in a group allowed to use this "
                "registry: ask an administrator"
            )
