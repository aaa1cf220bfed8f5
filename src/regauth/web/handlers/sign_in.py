"""Signing in (a password or a personal access token, then a two-factor code if the account
has it on) and out, through the API's session service and its shared sign-in throttle."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.credentials import credentials
from regauth.errors import TooManyRequests, Unauthorized
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call, client
from regauth.services.refusals import SSO_ENFORCED
from regauth.web import boundary
from regauth.web.forms import CodeForm, NoFields, SignInForm
from regauth.web.pages import render, see_other

HOME = "/settings/tokens"


async def home(request: web.Request) -> web.Response:
    return see_other(request, HOME)


async def page(request: web.Request) -> web.Response:
    signed_out = request.query.get("signed-out") is not None
    return render(
        request, "sign_in.html", {"message": "You are signed out." if signed_out else None}
    )


async def submit(request: web.Request) -> web.Response:
    form = await boundary.read_form(request, SignInForm, boundary.incoming(request))
    sessions = request.app[RUNTIME].sessions
    # The sign-in's outcome is the page's content: a refusal is shown on the form again.
    try:
        session = await sessions.login(credentials(form.username, form.password), *client(request))
    except Unauthorized as exc:
        ticket = exc.fields.get("login_2fa_token")
        if isinstance(ticket, str):
            return render(request, "sign_in_code.html", {"ticket": ticket, "message": None})
        return _refused(request, form.username, _for_the_page(request, exc.message), 401)
    except TooManyRequests as exc:
        message = f"Too many failed sign-ins: try again in {exc.retry_after} seconds."
        return _refused(request, form.username, message, 429)
    await boundary.begin(request, session)
    return see_other(request, HOME)


def _for_the_page(request: web.Request, message: str) -> str:
    """A refusal as a person at the form can act on it: under single sign-on, the button."""
    button = request.app[RUNTIME].oidc_sign_in.button
    if message == SSO_ENFORCED and button is not None:
        return f"Single sign-on is enforced: use Sign in with {button}."
    return message


async def submit_code(request: web.Request) -> web.Response:
    """The second step: a code from the authenticator app, or a recovery code."""
    form = await boundary.read_form(request, CodeForm, boundary.incoming(request))
    sessions = request.app[RUNTIME].sessions
    try:
        session = await call(
            request, sessions.complete_second_factor, form.ticket, form.code, *client(request)
        )
    except Unauthorized as exc:
        context = {"ticket": form.ticket, "message": sentence(exc.message)}
        return render(request, "sign_in_code.html", context, status=401)
    except TooManyRequests as exc:
        message = f"Too many failed sign-ins: try again in {exc.retry_after} seconds."
        return _refused(request, "", message, 429)
    await boundary.begin(request, session)
    return see_other(request, HOME)


async def sign_out(request: web.Request) -> web.Response:
    await boundary.read_form(request, NoFields, boundary.incoming(request))
    await boundary.end(request)
    return see_other(request, "/sign-in?signed-out")


def _refused(request: web.Request, username: str, message: str, status: int) -> web.Response:
    context = {"message": sentence(message), "username": username}
    return render(request, "sign_in.html", context, status=status)


def sentence(message: str) -> str:
    """A service's message ("incorrect username or password") as the page says it."""
    text = message[:1].upper() + message[1:]
    return text if text.endswith(".") else f"{text}."
