"""Administration, for admins signed in with a password (`ApiCaller.require_admin`, as the admin
API: anyone else, and every PAT session, gets 403): users, personal access tokens across
users, repositories' visibility, the audit log, webhook notifications and explain; each through the API's services."""

from __future__ import annotations

from aiohttp import web

from regauth.domain.models import Actor
from regauth.errors import NotFoundInStore
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import call, query_model
from regauth.runtime import Runtime
from regauth.web import boundary
from regauth.web.admin_forms import (
    PAGE_SIZE,
    USER_CHANGES,
    AuditFilter,
    ExplainForm,
    NewUserForm,
    NotificationFilter,
    TokenFilter,
    VisibilityForm,
)
from regauth.web.admin_views import (
    AdminTokenRow,
    AuditRow,
    NotificationRow,
    RepositoryRow,
    UserRow,
)
from regauth.web.forms import NoFields
from regauth.web.pages import render, see_other


async def as_admin(request: web.Request) -> tuple[boundary.Visitor, Runtime, Actor]:
    visitor = await boundary.signed_in(request)
    visitor.caller.require_admin()
    return visitor, request.app[RUNTIME], visitor.caller.actor


async def home(request: web.Request) -> web.Response:
    await as_admin(request)
    return see_other(request, "/admin/users")


# Users


async def users(request: web.Request) -> web.Response:
    _, runtime, _ = await as_admin(request)
    rows = [UserRow.of(u) for u in await call(request, runtime.users.list)]
    return render(request, "admin/users.html", {"rows": rows})


async def create_user(request: web.Request) -> web.Response:
    visitor, runtime, actor = await as_admin(request)
    form = await boundary.read_form(request, NewUserForm, visitor.envelope)
    await call(
        request,
        runtime.users.create,
        form.name.strip(),
        form.password,
        actor,
        is_admin=form.admin == "on",
    )
    return see_other(request, "/admin/users")


async def change_user(request: web.Request) -> web.Response:
    """Disable, enable, grant or revoke admin, reset two-factor (the API's PATCH, one field)."""
    visitor, runtime, actor = await as_admin(request)
    change = USER_CHANGES.get(request.match_info["change"])
    if change is None:
        raise NotFoundInStore("no such page")
    await boundary.read_form(request, NoFields, visitor.envelope)
    user = await call(request, runtime.users.get, request.match_info["name"])
    field, value = change
    if field == "two_factor":  # a lost device: the admin resets it
        await call(request, runtime.two_factor.disable, user, actor, None)
    elif field == "disabled":
        await call(request, runtime.users.set_disabled, user.name, actor, value)
    else:
        await call(request, runtime.users.set_admin, user.name, actor, value)
    return see_other(request, "/admin/users")


# Tokens across users


async def tokens(request: web.Request) -> web.Response:
    """The admin API's token search as a page; `last used before` is the stale-token view."""
    _, runtime, _ = await as_admin(request)
    search = query_model(request, TokenFilter)
    found = await call(request, runtime.tokens.search, search.query())
    now = runtime.clock()
    rows = [AdminTokenRow.of(r, now) for r in found[:PAGE_SIZE]]
    return render(
        request,
        "admin/tokens.html",
        {"rows": rows, "search": search, "more": len(found) > PAGE_SIZE,
         "query": _query_without_page(request)},
    )  # fmt: skip


async def activate_token(request: web.Request) -> web.Response:
    return await _set_token_active(request, True)


async def deactivate_token(request: web.Request) -> web.Response:
    return await _set_token_active(request, False)


async def confirm_delete_token(request: web.Request) -> web.Response:
    _, runtime, _ = await as_admin(request)
    record = await call(request, runtime.tokens.get, request.match_info["id"])
    return render(
        request, "admin/token_delete.html", {"row": AdminTokenRow.of(record, runtime.clock())}
    )


async def delete_token(request: web.Request) -> web.Response:
    visitor, runtime, actor = await as_admin(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    record = await call(request, runtime.tokens.get, request.match_info["id"])
    await call(request, runtime.tokens.delete, record, actor)
    return see_other(request, "/admin/tokens")


async def _set_token_active(request: web.Request, active: bool) -> web.Response:
    visitor, runtime, actor = await as_admin(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    record = await call(request, runtime.tokens.get, request.match_info["id"])
    await call(request, runtime.tokens.set_active, record, actor, active)
    return see_other(request, "/admin/tokens")


# Repositories


async def repositories(request: web.Request) -> web.Response:
    _, runtime, _ = await as_admin(request)
    rows = [RepositoryRow.of(r) for r in await call(request, runtime.repositories.list)]
    return render(request, "admin/repositories.html", {"rows": rows})


async def set_visibility(request: web.Request) -> web.Response:
    visitor, runtime, actor = await as_admin(request)
    form = await boundary.read_form(request, VisibilityForm, visitor.envelope)
    await call(request, runtime.repositories.set_visibility, form.name.strip(), form.level, actor)
    return see_other(request, "/admin/repositories")


# The audit log and explain


async def audit(request: web.Request) -> web.Response:
    _, runtime, _ = await as_admin(request)
    search = query_model(request, AuditFilter)
    events = await call(request, runtime.audit.list, search.query())
    return render(
        request,
        "admin/audit.html",
        {"rows": [AuditRow.of(e) for e in events[:PAGE_SIZE]], "search": search,
         "more": len(events) > PAGE_SIZE, "query": _query_without_page(request)},
    )  # fmt: skip


async def explain_form(request: web.Request) -> web.Response:
    await as_admin(request)
    return render(request, "admin/explain.html", {"asked": None, "explanation": None})


async def explain(request: web.Request) -> web.Response:
    """A POST (with its CSRF token) though it changes nothing: what was typed may be pasted
    from anywhere, and a POST keeps it out of URLs and logs."""
    visitor, runtime, _ = await as_admin(request)
    asked = await boundary.read_form(request, ExplainForm, visitor.envelope)
    service, name, scope = runtime.explain, asked.who, asked.scope.strip()
    explained = (
        await call(request, service.for_user, name, scope)
        if asked.subject == "user"
        else await call(request, service.for_token, name, scope)
    )
    return render(request, "admin/explain.html", {"asked": asked, "explanation": explained})


# Webhook notifications


async def notifications(request: web.Request) -> web.Response:
    _, runtime, _ = await as_admin(request)
    search = query_model(request, NotificationFilter)
    found = await call(request, runtime.notifier.list, search.query())
    return render(
        request,
        "admin/notifications.html",
        {"rows": [NotificationRow.of(n) for n in found[:PAGE_SIZE]], "search": search,
         "more": len(found) > PAGE_SIZE, "query": _query_without_page(request),
         "webhook": bool(runtime.settings.current.notifications.webhook_url)},
    )  # fmt: skip


async def retry_notification(request: web.Request) -> web.Response:
    visitor, runtime, actor = await as_admin(request)
    await boundary.read_form(request, NoFields, visitor.envelope)
    await call(request, runtime.notifier.retry, request.match_info["id"], actor)
    return see_other(request, "/admin/notifications")


def _query_without_page(request: web.Request) -> str:
    """The filter's query string for the pages' links, without `page`."""
    kept = [(k, v) for k, v in request.query.items() if k != "page"]
    return request.rel_url.with_query(kept).query_string
