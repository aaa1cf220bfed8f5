"""Personal access tokens: the list, generate (the secret shown once), rename, (de)activate,
regenerate, delete; each through the services the API's handlers use."""

from __future__ import annotations

from datetime import UTC, datetime

from aiohttp import web

from regauth.config import expiry_days, max_lifetime_days
from regauth.domain.durations import parse_duration
from regauth.domain.models import TokenRecord
from regauth.domain.timefmt import parse_expiry
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call, query_int
from regauth.web import boundary
from regauth.web.forms import NewTokenForm, NoFields, RegenerateForm, RenameForm
from regauth.web.pages import forget_secret, render, see_other, see_secret, take_secret
from regauth.web.views import EXPIRY_CHOICES, LEVEL_LABELS, Limits, TokenRow

PAGE_SIZE = 25
LIST = "/settings/tokens"


async def index(request: web.Request) -> web.Response:
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    owner = visitor.caller.account()  # a PAT session may read its account's tokens
    page = query_int(request, "page", 1, low=1, high=1_000_000)
    result = await call(request, runtime.tokens.page_for, owner, page=page, page_size=PAGE_SIZE)
    limits = await call(request, runtime.tokens.limits_for, owner)
    now = runtime.clock()
    return render(
        request,
        "tokens.html",
        {
            "rows": [TokenRow.of(r, now) for r in result.tokens],
            "count": result.count,
            "page": page,
            "pages": max(1, -(-result.count // PAGE_SIZE)),
            "limits": Limits.of(limits),
        },
    )


async def new(request: web.Request) -> web.Response:
    visitor = await boundary.signed_in(request)
    visitor.caller.require_account_management("create access tokens")
    return render(request, "token_new.html", _form_context(request))


async def create(request: web.Request) -> web.Response:
    """POST-redirect-GET: the token's "created" page shows the secret once (pages.see_secret),
    so reloading or going back never shows it again nor makes a second token."""
    visitor, runtime = await boundary.signed_in(request), request.app[RUNTIME]
    form = await boundary.read_form(request, NewTokenForm, visitor.envelope)
    owner = visitor.caller.require_account_management("create access tokens")
    created = await call(
        request,
        runtime.tokens.create,
        owner,
        visitor.caller.actor,
        description=form.description,
        access=form.level,
        expires_at=parse_expiry(form.expiry, now=runtime.clock()),
        repositories=form.repository_list,
        allow_from=form.networks,
    )
    path = f"/settings/tokens/{created.record.uuid}/created"
    return see_secret(request, visitor.envelope, str(created.token), path)


async def created(request: web.Request) -> web.Response:
    """The secret POST /settings/tokens/new sealed for this page, once; after that, a page
    that says it was shown."""
    visitor, record = await _owned(request)
    secret = take_secret(request, visitor.envelope, record.id)
    if secret is None:
        response = render(request, "token_shown.html", {"row": _row(request, record)})
    else:
        context = {
            "row": _row(request, record),
            "secret": secret,
            "registry": request.app[RUNTIME].config.web.registry_host,
        }
        response = render(request, "token_created.html", context)
    return forget_secret(request, response)


async def edit(request: web.Request) -> web.Response:
    visitor, record = await _owned(request)
    visitor.caller.require_account_management("change access tokens")
    return render(request, "token_edit.html", {"row": _row(request, record)})


async def rename(request: web.Request) -> web.Response:
    visitor, record = await _owned(request)
    form = await boundary.read_form(request, RenameForm, visitor.envelope)
    visitor.caller.require_account_management("change access tokens")
    tokens = request.app[RUNTIME].tokens
    await call(request, tokens.rename, record, visitor.caller.actor, form.description)
    return see_other(request, LIST)


async def activate(request: web.Request) -> web.Response:
    return await _set_active(request, True)


async def deactivate(request: web.Request) -> web.Response:
    return await _set_active(request, False)


async def confirm_delete(request: web.Request) -> web.Response:
    """The confirmation step, a page of its own: it works without JavaScript."""
    visitor, record = await _owned(request)
    visitor.caller.require_account_management("delete access tokens")
    return render(request, "token_delete.html", {"row": _row(request, record)})


async def delete(request: web.Request) -> web.Response:
    visitor, record = await _owned(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    visitor.caller.require_account_management("delete access tokens")
    await call(request, request.app[RUNTIME].tokens.delete, record, visitor.caller.actor)
    return see_other(request, LIST)


async def confirm_regenerate(request: web.Request) -> web.Response:
    """The confirmation step: what stops working, and when (the grace period's choice)."""
    visitor, record = await _owned(request)
    visitor.caller.require_account_management("regenerate access tokens")
    return render(request, "token_regenerate.html", {"row": _row(request, record)})


async def regenerate(request: web.Request) -> web.Response:
    """POST-redirect-GET as for a new token: the "created" page shows the new secret once."""
    visitor, record = await _owned(request)
    form = await boundary.read_form(request, RegenerateForm, visitor.envelope)
    visitor.caller.require_account_management("regenerate access tokens")
    runtime = request.app[RUNTIME]
    made = await call(
        request,
        runtime.rotation.regenerate,
        record,
        visitor.caller.actor,
        grace_seconds=parse_duration(form.grace),
    )
    path = f"/settings/tokens/{made.record.uuid}/created"
    return see_secret(request, visitor.envelope, str(made.token), path)


async def _set_active(request: web.Request, active: bool) -> web.Response:
    visitor, record = await _owned(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    visitor.caller.require_account_management("change access tokens")
    tokens = request.app[RUNTIME].tokens
    await call(request, tokens.set_active, record, visitor.caller.actor, active)
    return see_other(request, LIST)


async def _owned(request: web.Request) -> tuple[boundary.Visitor, TokenRecord]:
    """The signed-in visitor and their token named in the path (another user's is a 404)."""
    visitor, tokens = await boundary.signed_in(request), request.app[RUNTIME].tokens
    owner = visitor.caller.account()
    return visitor, await call(request, tokens.get_owned, owner, request.match_info["uuid"])


def _row(request: web.Request, record: TokenRecord) -> TokenRow:
    return TokenRow.of(record, request.app[RUNTIME].clock())


def _form_context(request: web.Request) -> dict[str, object]:
    config = request.app[RUNTIME].config
    lifetime = max_lifetime_days(config)
    # The form starts on the expiry the API and the CLI give when none is asked for.
    default = expiry_days(config.limits.default_expiry)
    if not default:
        choice, date = ("30" if lifetime else "none"), ""
    elif str(default) in dict(EXPIRY_CHOICES):
        choice, date = str(default), ""
    else:
        moment = request.app[RUNTIME].clock() + default * 86400
        choice, date = "custom", datetime.fromtimestamp(moment, UTC).date().isoformat()
    return {
        "levels": LEVEL_LABELS,
        "expiry_choices": EXPIRY_CHOICES,
        "max_days": lifetime,
        "default_expiry": choice,
        "default_date": date,
    }
