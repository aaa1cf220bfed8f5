"""The account's security: two-factor authentication (enroll with a QR code, confirm with a
first code, recovery codes shown once, disable with a code), the auto-generated sign-in
sessions, the browsers signed in to these pages, and the password. The same services as the API's handlers and the CLI."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.credentials import credentials
from regauth.domain.models import TokenRecord
from regauth.errors import BadRequest, SecondFactorRequired, TooManyRequests, Unauthorized
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call, client
from regauth.services.authentication import PASSWORD
from regauth.web import boundary
from regauth.web.forms import BrowserForm, CodeOnlyForm, NoFields, PasswordForm
from regauth.web.pages import render, see_other
from regauth.web.views import BrowserRow, TokenRow

SECURITY = "/settings/security"


async def security(request: web.Request) -> web.Response:
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    owner = visitor.caller.account()
    records = await call(request, runtime.tokens.list_for, owner)
    now = runtime.clock()
    sessions = [TokenRow.of(r, now) for r in records if r.generated_by == "auto"]
    pages = await call(request, runtime.web_sessions.list_for, owner)
    browsers = [BrowserRow.of(s, visitor.session_id) for s in pages]
    context = {
        "enabled": owner.totp_enabled,
        "sessions": sessions,
        "browsers": browsers,
        "message": None,
    }
    return render(request, "security.html", context)


async def enroll(request: web.Request) -> web.Response:
    """The secret, as a QR code and as text, on the answer to the POST (no GET shows it)."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    await boundary.read_form(request, NoFields, visitor.envelope)
    owner = visitor.caller.require_account_management("turn on two-factor authentication")
    enrollment = await call(request, runtime.two_factor.enroll, owner, visitor.caller.actor)
    import segno  # here: ~0.8 MiB that only an enrollment needs, not every worker

    qr = segno.make(enrollment.otpauth_uri, error="m").svg_data_uri(scale=5, border=2)
    context = {"secret": enrollment.secret, "qr": qr, "message": None}
    return render(request, "two_factor_enroll.html", context)


async def confirm(request: web.Request) -> web.Response:
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    form = await boundary.read_form(request, CodeOnlyForm, visitor.envelope)
    owner = visitor.caller.require_account_management("turn on two-factor authentication")
    codes = await call(request, runtime.two_factor.confirm, owner, visitor.caller.actor, form.code)
    await boundary.start(request, visitor.caller)  # every session ended: this one starts again
    return render(request, "recovery_codes.html", {"codes": codes})


async def disable(request: web.Request) -> web.Response:
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    form = await boundary.read_form(request, CodeOnlyForm, visitor.envelope)
    owner = visitor.caller.require_account_management("turn off two-factor authentication")
    await call(request, runtime.two_factor.disable, owner, visitor.caller.actor, form.code)
    await boundary.start(request, visitor.caller)  # every session ended: this one starts again
    return see_other(request, SECURITY)


async def end_session(request: web.Request) -> web.Response:
    """ "Sign out of this session": the auto-generated token a `docker login` made is deleted."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    await boundary.read_form(request, NoFields, visitor.envelope)
    owner = visitor.caller.require_account_management("end sign-in sessions")
    record: TokenRecord = await call(
        request, runtime.tokens.get_owned, owner, request.match_info["uuid"]
    )
    if record.generated_by != "auto":
        raise BadRequest("that is a personal access token, not a sign-in session")
    await call(request, runtime.tokens.delete, record, visitor.caller.actor)
    return see_other(request, SECURITY)


async def end_browser(request: web.Request) -> web.Response:
    """ "Sign out" of another browser's page session: it ends on the server at once. This
    browser's own is ended by "Sign out" (the same, and the cookie goes too)."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    form = await boundary.read_form(request, BrowserForm, visitor.envelope)
    owner = visitor.caller.require_account_management("end sign-in sessions")
    if form.session == visitor.session_id:
        raise BadRequest("that is this browser's session: use Sign out")
    await call(request, runtime.web_sessions.end_one, owner, form.session)
    return see_other(request, SECURITY)


LINKED_PASSWORD = (
    "This account signs in through your company's identity provider: change the password there."
)


async def password_page(request: web.Request) -> web.Response:
    visitor = await boundary.signed_in(request)
    owner = visitor.caller.require_account_management("change the password")
    message = LINKED_PASSWORD if owner.linked else None
    return render(request, "password.html", {"message": message, "done": False})


async def change_password(request: web.Request) -> web.Response:
    """Checked with the current password through the shared sign-in throttle; the new one ends
    the account's other sessions (its auto-generated tokens, and its other page sessions,
    whose cookie fingerprints the old password) and this page session carries on."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    form = await boundary.read_form(request, PasswordForm, visitor.envelope)
    owner = visitor.caller.require_account_management("change the password")
    if owner.linked:
        # The identity provider (OIDC, LDAP, SCIM) holds the account's password; a local one
        # would be a second way in that the company's deprovisioning does not end.
        return _password_refused(request, LINKED_PASSWORD, 409)
    if form.new_password != form.confirm_password:
        return _password_refused(request, "The new passwords do not match.", 400)
    try:
        checked = await runtime.authenticator.authenticate_client(
            credentials(owner.name, form.current_password), *client(request)
        )
        right = checked.method == PASSWORD  # a token typed in is not the password
    except SecondFactorRequired:
        right = True  # the password was right; the second factor is not asked for here
    except Unauthorized:
        right = False
    except TooManyRequests as exc:
        message = f"Too many failed attempts: try again in {exc.retry_after} seconds."
        return _password_refused(request, message, 429)
    if not right:
        return _password_refused(request, "The current password is not correct.", 401)
    actor = visitor.caller.actor
    await call(request, runtime.users.reset_password, owner.name, actor, form.new_password)
    await boundary.start(request, visitor.caller)  # every session ended: this one starts again
    return render(request, "password.html", {"message": None, "done": True})


def _password_refused(request: web.Request, message: str, status: int) -> web.Response:
    return render(request, "password.html", {"message": message, "done": False}, status=status)
