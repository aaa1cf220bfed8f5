"""Who calls the account and admin APIs, how they proved it, and what that lets them do."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain.models import Actor, User
from regauth.errors import Forbidden

PASSWORD, PAT, ADMIN_KEY = "password", "pat", "admin_key"
PAT_CANNOT = (
    "a session opened with a personal access token cannot {what}; sign in with the password"
)


@dataclass(frozen=True, slots=True)
class ApiCaller:
    """Who calls the API and how they proved it; what they may do follows from the method."""

    method: str  # PASSWORD, PAT or ADMIN_KEY
    actor: Actor
    user: User | None = None  # None for an admin API key
    token_id: str | None = None
    # Which of that token's secrets opened the session (rotation.secret_fingerprint).
    token_secret: str | None = None

    @property
    def is_admin(self) -> bool:
        # Personal access tokens never act as an admin, whoever owns them.
        if self.method == ADMIN_KEY:
            return True
        return self.method == PASSWORD and self.user is not None and self.user.is_admin

    def account(self) -> User:
        if self.user is None:
            raise Forbidden("an admin API key has no account of its own")
        return self.user

    def require_account_management(self, what: str) -> User:
        """PATs may read their account's tokens but not change the account (Docker Hub's rule)."""
        user = self.account()
        if self.method != PASSWORD:
            raise Forbidden(PAT_CANNOT.format(what=what))
        return user

    def require_admin(self) -> None:
        if self.method == PAT:
            raise Forbidden(PAT_CANNOT.format(what="use the admin API"))
        if not self.is_admin:
            raise Forbidden("administrator rights are required")
