"""Why a sign-in was refused: the messages clients are shown (docker prints them), and each
as the short fixed word the regauth_signin_failures metric counts it under."""

from __future__ import annotations

from regauth.config import Config
from regauth.domain.models import OrgTokenRecord, TokenAuthRecord, User
from regauth.errors import (
    MalformedToken,
    RegauthError,
    SecondFactorRequired,
    TooManyRequests,
    Unauthorized,
)

INCORRECT = "incorrect username or password"
SESSION_ENDED = "this sign-in session has ended: run docker login again"
DISABLED = "account is disabled"
PASSWORD_LOGINS_DISABLED = "password logins are disabled: use a personal access token"
NOT_A_REGISTRY_CREDENTIAL = "admin API keys are not registry credentials: /token refuses them"
SSO_ENFORCED = "single sign-on is enforced: use a personal access token"


def incorrect(names_an_account: bool) -> Unauthorized:
    refused = Unauthorized(INCORRECT)
    return refused.of_an_account() if names_an_account else refused


# Why a credential whose secret matched is refused all the same: /token (authentication.py)
# and explain (explain.py) ask these, so that the two cannot tell a different story.


def token_refusal(record: TokenAuthRecord, now: float) -> str | None:
    """A personal access or session token: its owner disabled, the token inactive or expired."""
    label = "personal access token" if record.generated_by == "manual" else "session token"
    if record.owner_disabled:
        return DISABLED
    if not record.active:
        return f"{label} is inactive"
    if record.expires_at is not None and now >= record.expires_at:
        return f"{label} has expired"
    return None


def org_token_refusal(record: OrgTokenRecord, now: float) -> str | None:
    if not record.active:
        return "organization access token is inactive"
    if record.expired(now):
        return "organization access token has expired"
    return None


def password_refusal(user: User, config: Config) -> str | None:
    """What a sign-in with `user`'s right password is refused for, in the order /token checks.
    (An account without a password is taken as one whose password would be right.)"""
    if not config.auth.password_logins:
        return PASSWORD_LOGINS_DISABLED
    if user.linked and config.oidc.enforce:
        return SSO_ENFORCED
    if user.disabled:
        return DISABLED
    if user.totp_enabled:
        return SecondFactorRequired.default_message
    return None


_REASONS = {
    INCORRECT: "incorrect",
    SESSION_ENDED: "session_ended",
    DISABLED: "disabled",
    PASSWORD_LOGINS_DISABLED: "password_logins_disabled",
    NOT_A_REGISTRY_CREDENTIAL: "admin_key",
    SSO_ENFORCED: "sso_enforced",
}


def failure_reason(exc: RegauthError) -> str:
    """A failed sign-in's reason as a short fixed word (a label of regauth_signin_failures)."""
    if isinstance(exc, TooManyRequests):
        return "throttled"
    if isinstance(exc, SecondFactorRequired):
        return "second_factor_required"
    if isinstance(exc, MalformedToken):
        return "malformed_token"
    if exc.message.endswith(" is inactive"):
        return "inactive"
    if exc.message.endswith(" has expired"):
        return "expired"
    if exc.message.startswith("token not allowed from "):
        return "network"
    return _REASONS.get(exc.message, "other")
