"""Admin API: users."""

from __future__ import annotations

from aiohttp import web

from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import admin, field, json_body, json_response
from regauth.http.views import user_view


async def list_users(request: web.Request) -> web.Response:
    admin(request)
    return json_response({"users": [user_view(u) for u in request.app[RUNTIME].users.list()]})


async def create_user(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await json_body(request)
    user = request.app[RUNTIME].users.create(
        field(body, "name", str, required=True),
        field(body, "password", str),
        actor,
        is_admin=bool(field(body, "admin", bool)),
    )
    return json_response(user_view(user), status=201)


async def get_user(request: web.Request) -> web.Response:
    admin(request)
    return json_response(user_view(request.app[RUNTIME].users.get(request.match_info["name"])))


async def patch_user(request: web.Request) -> web.Response:
    actor = admin(request)
    body = await json_body(request)
    users, name = request.app[RUNTIME].users, request.match_info["name"]
    disabled, is_admin = field(body, "disabled", bool), field(body, "admin", bool)
    password, two_factor = field(body, "password", str), field(body, "two_factor", bool)
    if (disabled, is_admin, password, two_factor) == (None, None, None, None):
        raise BadRequest("nothing to change: send disabled, admin, password and/or two_factor")
    if two_factor is True:
        raise BadRequest("two-factor authentication is enrolled by the user, not by an admin")
    user = users.get(name)
    if two_factor is False:  # a lost device: the admin resets it
        request.app[RUNTIME].two_factor.disable(user, actor, None)
        user = users.get(name)
    if disabled is not None:
        user = users.set_disabled(name, actor, disabled)
    if is_admin is not None:
        user = users.set_admin(name, actor, is_admin)
    if password is not None:
        user = users.reset_password(name, actor, password)
    return json_response(user_view(user))
