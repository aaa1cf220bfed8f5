"""Why a single sign-on did not complete. Every message is written for the person signing in
and the log: it never holds a code, a token, a state or a client secret."""

from __future__ import annotations

from typing import ClassVar

from regauth.errors import RegauthError


class SignOnFailed(RegauthError):
    """The sign-in cannot complete as it is; starting again may work."""

    # The codes are ones the API already answers with: these are the pages' answers, and the
    # API's error model (http/models/errors.py) enumerates every code declared.
    status = 400
    code = "BAD_REQUEST"
    oauth_error: ClassVar[str | None] = "invalid_request"
    default_message = "single sign-on did not complete: start again"


class SignOnStateMismatch(SignOnFailed):
    """The answer does not belong to a sign-in this browser started here (a forged or stale
    `state`, or the short-lived cookie that held it is gone)."""

    default_message = (
        "this sign-in answer does not belong to a sign-in started in this browser, "
        "or it took too long: start again"
    )


class SignOnRefused(SignOnFailed):
    """The identity provider said no (`error=access_denied`, an authorization code it will not
    exchange), or regauth's rules did (a group not allowed)."""

    status = 403
    code = "DENIED"
    oauth_error = None
    default_message = "the identity provider did not sign you in"


class IdTokenInvalid(SignOnFailed):
    """The ID token failed verification: its signature, issuer, audience, lifetime or nonce."""

    status = 401
    code = "UNAUTHORIZED"
    oauth_error = "invalid_grant"
    default_message = "the identity provider's ID token is not valid"


class IdentityProviderFailed(RegauthError):
    """The identity provider cannot be reached, or answers what no provider should (or what
    says regauth's [oidc] settings do not match it). Not the person's fault: 502."""

    status = 502
    code = "UNAVAILABLE"
    oauth_error = "temporarily_unavailable"
    default_message = "the identity provider cannot be reached: try again later"
