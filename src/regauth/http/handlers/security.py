"""Account security endpoints: two-factor auth, the second sign-in step, leaked-token revocation."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import AuditQuery
from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import (
    anonymous_actor,
    caller,
    client,
    field,
    json_body,
    json_response,
)
from regauth.http.views import audit_view
from regauth.services.revocation import MAX_CREDENTIALS

REVOKE_ANSWER = {
    "message": "Thank you. Any valid credentials among those reported have been deactivated "
    "and their owners can see this in their audit log."
}


async def enroll(request: web.Request) -> web.Response:
    who = caller(request)
    user = who.require_account_management("change two-factor settings")
    enrollment = request.app[RUNTIME].two_factor.enroll(user, who.actor)
    return json_response({"secret": enrollment.secret, "otpauth_uri": enrollment.otpauth_uri})


async def confirm(request: web.Request) -> web.Response:
    who = caller(request)
    user = who.require_account_management("change two-factor settings")
    code = field(await json_body(request), "code", str, required=True)
    codes = request.app[RUNTIME].two_factor.confirm(user, who.actor, code)
    return json_response({"recovery_codes": codes})


async def disable(request: web.Request) -> web.Response:
    who = caller(request)
    user = who.require_account_management("change two-factor settings")
    code = field(await json_body(request), "code", str, required=True)
    request.app[RUNTIME].two_factor.disable(user, who.actor, code)
    return web.Response(status=204)


async def second_factor_login(request: web.Request) -> web.Response:
    body = await json_body(request)
    token = request.app[RUNTIME].sessions.complete_second_factor(
        field(body, "login_2fa_token", str, required=True),
        field(body, "code", str, required=True),
        *client(request),
    )
    return json_response({"token": token})


async def revoke_credentials(request: web.Request) -> web.Response:
    reporter = anonymous_actor(request)
    credentials = field(await json_body(request), "credentials", list, required=True)
    if len(credentials) > MAX_CREDENTIALS or not all(isinstance(c, str) for c in credentials):
        raise BadRequest(f"credentials must be a list of at most {MAX_CREDENTIALS} strings")
    request.app[RUNTIME].revocation.revoke(credentials, reporter)
    return json_response(REVOKE_ANSWER, status=202)


async def account_audit(request: web.Request) -> web.Response:
    user = caller(request).account()
    events = request.app[RUNTIME].audit.list(AuditQuery(subject=user.name, limit=100))
    return json_response({"events": [audit_view(e) for e in events]})
