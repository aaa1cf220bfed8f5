"""The SCIM service as the HTTP adapter sees it: who is calling (a SCIM key), and the Users
and Groups it may change."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain.models import Actor
from regauth.domain.tokens import TokenKind, looks_like_token
from regauth.errors import Unauthorized
from regauth.services.admin_keys import SCIM, AdminKeyService
from regauth.services.scim.groups import ScimGroups
from regauth.services.scim.users import ScimUsers

_SEND_A_KEY = "authentication required: send Authorization: Bearer <SCIM key>"


@dataclass(frozen=True, slots=True)
class Scim:
    users: ScimUsers
    groups: ScimGroups
    admin_keys: AdminKeyService

    def authenticate(
        self, authorization: str | None, ip: str | None, user_agent: str | None
    ) -> Actor:
        """The SCIM key's actor; Unauthorized for anything but a valid SCIM key (an admin API
        key, a PAT, a session, a password)."""
        scheme, _, value = (authorization or "").strip().partition(" ")
        value = value.strip()
        if scheme.lower() != "bearer" or not value:
            raise Unauthorized(_SEND_A_KEY)
        if not looks_like_token(value) or not value.startswith(TokenKind.ADMIN_KEY.prefix):
            raise Unauthorized("only a SCIM key opens SCIM (regauth admin-key create --scim)")
        key = self.admin_keys.authenticate(value, ip, purpose=SCIM, user_agent=user_agent)
        return Actor(name=f"scim-key:{key.id}", kind="scim", ip=ip, user_agent=user_agent)
