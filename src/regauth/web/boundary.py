"""The pages' one boundary: who is signed in (the cookie, the idle timeout, the server-side
session behind it), and forms decoded into their models after their CSRF token is checked."""

from __future__ import annotations

from contextvars import ContextVar
from dataclasses import dataclass
from typing import TypeVar

import msgspec
from aiohttp import web

from regauth.domain.callers import PASSWORD, ApiCaller
from regauth.errors import Forbidden, Unauthorized
from regauth.http import decoding
from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.forwarding import forwarded_https
from regauth.http.handlers.common import call, client, form_body
from regauth.web import cookies
from regauth.web.cookies import Envelope
from regauth.web.keys import SIGNER

CSRF_FIELD = "csrf_token"
_M = TypeVar("_M", bound=msgspec.Struct)


class SignInRequired(Unauthorized):
    """No page session, or one that ended: the middleware sends the browser to sign in."""

    default_message = "your session has ended: sign in again"


class CsrfRefused(Forbidden):
    """A state-changing form without the page's token: not sent by a page of this site."""

    default_message = (
        "this form was not sent from a page of this site, or the page is too old: "
        "go back, reload the page and try again"
    )


@dataclass(slots=True)
class Exchange:
    """One request's page state (each request runs in a task of its own, so a context variable
    is per request): the cookie it came with, the one its answer sets, who is signed in."""

    incoming: Envelope | None
    outgoing: Envelope | None = None
    visitor: Visitor | None = None


EXCHANGE: ContextVar[Exchange] = ContextVar("regauth_web_exchange")


@dataclass(frozen=True, slots=True)
class Visitor:
    """Who is signed in, how (a password, or a personal access token: read-only), the
    envelope of their cookie and the id of their page session."""

    caller: ApiCaller
    envelope: Envelope
    session_id: str

    @property
    def read_only(self) -> bool:
        return self.caller.method != PASSWORD

    @property
    def name(self) -> str:
        return self.caller.account().name


def now(request: web.Request) -> int:
    return int(request.app[RUNTIME].clock())


def incoming(request: web.Request) -> Envelope | None:
    return EXCHANGE.get().incoming


def anonymous(request: web.Request) -> Envelope:
    """The envelope a page is rendered with when the handler did not ask who is signed in (the
    sign-in page, an error): the one the answer sets or the cookie holds, or a new one the
    answer sets, so that the sign-in form carries a CSRF token too. A session it may hold is
    left as it is: it is checked only where it is used, and replaced when signing in."""
    exchange = EXCHANGE.get()
    envelope = exchange.outgoing or exchange.incoming
    if envelope is None:
        envelope = exchange.outgoing = cookies.fresh(now(request))
    return envelope


async def signed_in(request: web.Request) -> Visitor:
    """The signed-in visitor, or SignInRequired: no cookie, idle too long, or a page session
    that ended (signed out, ended by a change to the account, past its absolute timeout) or
    whose account or PAT is no longer good."""
    envelope, runtime = incoming(request), request.app[RUNTIME]
    moment = now(request)
    if envelope is None or envelope.session is None:
        raise SignInRequired("sign in to continue")
    # The exact idle timeout is the cookie's, rewritten by every request; the server's
    # last_seen_at is written at most once a minute (services/web_sessions.py).
    if moment - envelope.seen > runtime.config.web.idle_timeout_seconds:
        raise SignInRequired("you were signed out after a time without activity: sign in again")
    ip, agent = client(request)
    try:
        who, session = await call(
            request, runtime.web_sessions.authenticate, envelope.session, ip, agent
        )
    except Unauthorized as exc:
        raise SignInRequired(exc.message) from None
    exchange = EXCHANGE.get()
    exchange.visitor = Visitor(who, envelope, session.id)
    exchange.outgoing = exchange.outgoing or envelope.touched(moment)  # the idle timeout slides
    return exchange.visitor


async def begin(request: web.Request, api_session: str) -> None:
    """Signed in (the API's session service said who, from the form): a page session."""
    runtime = request.app[RUNTIME]
    who = await call(
        request, runtime.sessions.authenticate, f"Bearer {api_session}", *client(request)
    )
    await start(request, who)


async def start(request: web.Request, who: ApiCaller) -> None:
    """A new page session for `who`, in a new envelope (a new nonce, so a new CSRF token): at
    sign-in, and for the page that changed the account's password or second factor (which
    ended every session of the account, this one too). A session the cookie held ends."""
    runtime, exchange = request.app[RUNTIME], EXCHANGE.get()
    old = exchange.incoming
    if old is not None and old.session is not None:
        await call(request, runtime.web_sessions.end, old.session)
    secret = await call(request, runtime.web_sessions.begin, who, *client(request))
    exchange.outgoing = cookies.fresh(now(request), secret)
    if exchange.visitor is not None:  # the page rendered next carries the new CSRF token
        session_id = runtime.web_sessions.session_id(secret)
        exchange.visitor = Visitor(who, exchange.outgoing, session_id)


async def end(request: web.Request) -> None:
    """Signed out: the page session ends on the server, and the cookie is replaced."""
    envelope = incoming(request)
    if envelope is not None and envelope.session is not None:
        await call(request, request.app[RUNTIME].web_sessions.end, envelope.session)
    drop(request)


def drop(request: web.Request) -> None:
    """The cookie's session is forgotten (it ended, or never was)."""
    exchange = EXCHANGE.get()
    exchange.outgoing, exchange.visitor = cookies.fresh(now(request)), None


def csrf_token(request: web.Request, envelope: Envelope) -> str:
    return request.app[SIGNER].csrf_token(envelope)


async def read_form(request: web.Request, model: type[_M], envelope: Envelope | None) -> _M:
    """The form as its model, once its CSRF token matches the cookie's (else 403). Read with
    the API's strict form reader: UTF-8 only, each field once, the body size limited."""
    form = await form_body(request)
    if not request.app[SIGNER].csrf_ok(envelope, form.pop(CSRF_FIELD, None)):
        raise CsrfRefused()
    return decoding.to_model(form, model)


async def read_fields(
    request: web.Request, envelope: Envelope | None, *, max_fields: int
) -> dict[str, str]:
    """The form's fields as sent, once its CSRF token matches (else 403): for a form of
    numbered rows (`repository_1`, ...), which no fixed model describes, with more fields
    than the API's forms may have."""
    form = await form_body(request, max_fields=max_fields)
    if not request.app[SIGNER].csrf_ok(envelope, form.pop(CSRF_FIELD, None)):
        raise CsrfRefused()
    return form


def served_over_https(request: web.Request) -> bool:
    """Whether the browser reached us over HTTPS (then every cookie is Secure)."""
    public_url = request.app[RUNTIME].config.server.public_url
    return (
        public_url.startswith("https://")
        or request.secure
        or forwarded_https(
            request.remote,
            request.headers.get("X-Forwarded-Proto"),
            request.app[TRUSTED_PROXIES].networks,
        )
    )
