"""Organization access tokens, for the organization's owners (reading included, as in the API):
the list, generate (repositories picked with their actions; the secret shown once),
(de)activate, regenerate, delete; each through `OrgTokenService` (regenerate: `RotationService`)."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.durations import parse_duration
from regauth.domain.models import Organization, OrgTokenRecord
from regauth.domain.timefmt import parse_expiry
from regauth.http import decoding
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call, query_int
from regauth.web import boundary
from regauth.web.forms import NoFields, RegenerateForm
from regauth.web.handlers.orgs import as_owner
from regauth.web.org_forms import FIRST_ROWS, MAX_FIELDS, MAX_ROWS, OrgTokenForm, resources_of
from regauth.web.org_views import OrgTokenRow
from regauth.web.pages import forget_secret, render, see_other, see_secret, take_secret
from regauth.web.views import EXPIRY_CHOICES


async def index(request: web.Request) -> web.Response:
    _, runtime, org, _ = await as_owner(request)
    records = await call(request, runtime.org_tokens.for_org, org)
    now = runtime.clock()
    return render(
        request,
        "orgs/tokens.html",
        {"org": org, "rows": [OrgTokenRow.of(r, now) for r in records]},
    )


async def new(request: web.Request) -> web.Response:
    """The form; `?rows=N` shows N repository rows (the "More repositories" link: no script)."""
    _, _, org, _ = await as_owner(request)
    rows = query_int(request, "rows", FIRST_ROWS, low=1, high=MAX_ROWS)
    return render(
        request,
        "orgs/token_new.html",
        {"org": org, "rows": rows, "max_rows": MAX_ROWS,
         "more": min(rows + 5, MAX_ROWS), "expiry_choices": EXPIRY_CHOICES},
    )  # fmt: skip


async def create(request: web.Request) -> web.Response:
    """POST-redirect-GET, the secret shown once on the token's "created" page, as for
    personal tokens."""
    visitor, runtime, org, actor = await as_owner(request)
    fields = await boundary.read_fields(request, visitor.envelope, max_fields=MAX_FIELDS)
    form = decoding.to_model(fields, OrgTokenForm)
    created = await call(
        request,
        runtime.org_tokens.create,
        org,
        actor,
        label=form.label,
        description=form.description,
        resources=resources_of(fields, org.name),
        public_read=form.public_read == "on",
        expires_at=parse_expiry(form.expiry, now=runtime.clock()),
        allow_from=form.networks,
    )
    path = f"/orgs/{org.name}/tokens/{created.record.uuid}/created"
    return see_secret(request, visitor.envelope, str(created.token), path)


async def created(request: web.Request) -> web.Response:
    visitor, runtime, org, _ = await as_owner(request)
    record = await _token(request, org)
    row = OrgTokenRow.of(record, runtime.clock())
    secret = take_secret(request, visitor.envelope, record.id)
    if secret is None:
        response = render(request, "orgs/token_shown.html", {"org": org, "row": row})
    else:
        context = {
            "org": org,
            "row": row,
            "secret": secret,
            "registry": runtime.config.web.registry_host,
        }
        response = render(request, "orgs/token_created.html", context)
    return forget_secret(request, response)


async def activate(request: web.Request) -> web.Response:
    return await _set_active(request, True)


async def deactivate(request: web.Request) -> web.Response:
    return await _set_active(request, False)


async def confirm_regenerate(request: web.Request) -> web.Response:
    """The confirmation step: what stops working, and when (the grace period's choice)."""
    _, runtime, org, _ = await as_owner(request)
    row = OrgTokenRow.of(await _token(request, org), runtime.clock())
    return render(request, "orgs/token_regenerate.html", {"org": org, "row": row})


async def regenerate(request: web.Request) -> web.Response:
    """POST-redirect-GET as for a new token: the "created" page shows the new secret once."""
    visitor, runtime, org, actor = await as_owner(request)
    form = await boundary.read_form(request, RegenerateForm, visitor.envelope)
    made = await call(
        request,
        runtime.rotation.regenerate_org_token,
        org,
        await _token(request, org),
        actor,
        grace_seconds=parse_duration(form.grace),
    )
    path = f"/orgs/{org.name}/tokens/{made.record.uuid}/created"
    return see_secret(request, visitor.envelope, str(made.token), path)


async def confirm_delete(request: web.Request) -> web.Response:
    _, runtime, org, _ = await as_owner(request)
    record = await _token(request, org)
    row = OrgTokenRow.of(record, runtime.clock())
    return render(request, "orgs/token_delete.html", {"org": org, "row": row})


async def delete(request: web.Request) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    await call(request, runtime.org_tokens.delete, org, await _token(request, org), actor)
    return see_other(request, f"/orgs/{org.name}/tokens")


async def _set_active(request: web.Request, active: bool) -> web.Response:
    visitor, runtime, org, actor = await as_owner(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    record = await _token(request, org)
    await call(
        request,
        runtime.org_tokens.update,
        org,
        record,
        actor,
        label=None,
        active=active,
        resources=None,
        public_read=None,
    )
    return see_other(request, f"/orgs/{org.name}/tokens")


async def _token(request: web.Request, org: Organization) -> OrgTokenRecord:
    tokens = request.app[RUNTIME].org_tokens
    return await call(request, tokens.get, org, request.match_info["token"])
