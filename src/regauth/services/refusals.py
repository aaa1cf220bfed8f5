"""Why a sign-in was refused: the messages clients are shown (docker prints them), and each
as the short fixed word the regauth_signin_failures metric counts it under."""

from __future__ import annotations

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
