"""Account security endpoints: two-factor auth, the second sign-in step, leaked-token revocation."""

from __future__ import annotations

from aiohttp import web

from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, anonymous_actor, call, caller, client
from regauth.http.models.account import (
    PostUsersLoginSuccessResponse,
    RecoveryCodes,
    RevokeCredentialsRequest,
    RevokeCredentialsResponse,
    TwoFactorCodeRequest,
    TwoFactorEnrollment,
    Users2FALoginRequest,
)
from regauth.http.models.admin import AuditEventList, AuditEventView
from regauth.http.models.base import NO_CONTENT, NoContent
from regauth.services.revocation import MAX_CREDENTIALS

REVOKE_ANSWER = RevokeCredentialsResponse(
    message="Thank you. Any valid credentials among those reported have been deactivated "
    "and their owners can see this in their audit log."
)


async def enroll(request: web.Request) -> TwoFactorEnrollment:
    """Start two-factor enrollment

    Makes a new TOTP secret for the caller's account (replacing an unconfirmed one) and returns
    it once, with an `otpauth://` URI for a QR code. Two-factor authentication is on only after
    `/v2/account/2fa/confirm`.
    """
    who = await caller(request)
    user = who.require_account_management("change two-factor settings")
    enrollment = await call(request, request.app[RUNTIME].two_factor.enroll, user, who.actor)
    return TwoFactorEnrollment(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)


async def confirm(request: web.Request, body: Body[TwoFactorCodeRequest]) -> RecoveryCodes:
    """Turn two-factor authentication on

    Confirms the enrollment with a first current code and turns two-factor authentication on:
    from then on the password alone no longer signs in (at `/token` a personal access token is
    needed; at `/v2/users/login` a second step). Returns the recovery codes, once.
    """
    who = await caller(request)
    user = who.require_account_management("change two-factor settings")
    code = (await body.read()).code
    codes = await call(request, request.app[RUNTIME].two_factor.confirm, user, who.actor, code)
    return RecoveryCodes(recovery_codes=codes)


async def disable(request: web.Request, body: Body[TwoFactorCodeRequest]) -> NoContent:
    """Turn two-factor authentication off

    Needs a current code or an unused recovery code. (An administrator can reset a lost device
    with `PATCH /admin/v1/users/{name}` `{"two_factor": false}`.)
    """
    who = await caller(request)
    user = who.require_account_management("change two-factor settings")
    code = (await body.read()).code
    await call(request, request.app[RUNTIME].two_factor.disable, user, who.actor, code)
    return NO_CONTENT


async def second_factor_login(
    request: web.Request, body: Body[Users2FALoginRequest]
) -> PostUsersLoginSuccessResponse:
    """Second factor authentication (Docker Hub shape)

    Docker Hub's `PostUsers2FALogin`: the second step of a password sign-in to an account with
    two-factor authentication. Send the `login_2fa_token` from the 401 of `/v2/users/login` or
    `/v2/auth/token` (valid 5 minutes) with a current code from the authenticator app (each
    accepted once) or an unused recovery code. Wrong codes count as failed sign-ins.
    """
    login = await body.read()
    token = await call(
        request,
        request.app[RUNTIME].sessions.complete_second_factor,
        login.login_2fa_token,
        login.code,
        *client(request),
    )
    return PostUsersLoginSuccessResponse(token=token)


async def revoke_credentials(
    request: web.Request, body: Body[RevokeCredentialsRequest]
) -> RevokeCredentialsResponse:
    """Report leaked credentials

    After GitHub's credential revocation API: anyone (a secret scanner, a person who found a
    token in a public repository) may report regauth credentials, without signing in. Every
    valid one among them is deactivated at once (a personal access token or session token) or
    revoked (an admin API key), and its owner sees it in the audit trail. The answer is the
    same whatever was found, so it tells nothing about validity. Limited per client address
    (`limits.revocations_per_minute`).
    """
    reporter = anonymous_actor(request)
    credentials = (await body.read()).credentials
    if len(credentials) > MAX_CREDENTIALS:
        raise BadRequest(f"credentials must be a list of at most {MAX_CREDENTIALS} strings")
    await call(request, request.app[RUNTIME].revocation.revoke, credentials, reporter)
    return REVOKE_ANSWER


async def account_audit(request: web.Request) -> AuditEventList:
    """Read the account's audit trail

    The newest 100 audit events of the caller's account since it was made: what it did signed
    in, what was done to it or its tokens (including leaked-token revocations and failed
    sign-ins under its name); never another's, nor those of an earlier holder of its name. A
    session opened with a personal access token may read. An admin API key has no account of
    its own: 403.
    """
    user = (await caller(request)).account()
    events = await call(request, request.app[RUNTIME].audit.of_account, user)
    return AuditEventList(events=[AuditEventView.of(e) for e in events])
