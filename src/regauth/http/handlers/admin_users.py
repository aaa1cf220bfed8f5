"""Admin API: users."""

from __future__ import annotations

from aiohttp import web

from regauth.errors import BadRequest
from regauth.http.appkeys import RUNTIME
from regauth.http.handlers.common import Body, admin, call
from regauth.http.models.admin import CreateUserRequest, PatchUserRequest, UserList, UserView


async def list_users(request: web.Request) -> UserList:
    """List users

    Every account, by name.
    """
    await admin(request)
    return UserList(
        users=[UserView.of(u) for u in await call(request, request.app[RUNTIME].users.list)]
    )


async def create_user(request: web.Request, body: Body[CreateUserRequest]) -> UserView:
    """Create a user

    Creates an account; its name is its registry namespace (`name/...`).
    """
    actor = await admin(request)
    new = await body.read()
    user = await call(
        request,
        request.app[RUNTIME].users.create,
        new.name,
        new.password,
        actor,
        is_admin=new.admin,
    )
    return UserView.of(user)


async def get_user(request: web.Request) -> UserView:
    """Get a user

    One account.
    """
    await admin(request)
    return UserView.of(
        await call(request, request.app[RUNTIME].users.get, request.match_info["name"])
    )


async def patch_user(request: web.Request, body: Body[PatchUserRequest]) -> UserView:
    """Change a user

    Disable or enable the account, grant or revoke admin, reset the password (which ends the
    account's session tokens; personal access tokens stay), or reset two-factor authentication
    for a lost device; send at least one field (else 400).
    """
    actor = await admin(request)
    change = await body.read()
    users, name = request.app[RUNTIME].users, request.match_info["name"]
    if (change.disabled, change.admin, change.password, change.two_factor) == (
        None,
        None,
        None,
        None,
    ):
        raise BadRequest("nothing to change: send disabled, admin, password and/or two_factor")
    if change.two_factor is True:
        raise BadRequest("two-factor authentication is enrolled by the user, not by an admin")
    user = await call(request, users.get, name)
    if change.two_factor is False:  # a lost device: the admin resets it
        await call(request, request.app[RUNTIME].two_factor.disable, user, actor, None)
        user = await call(request, users.get, name)
    if change.disabled is not None:
        user = await call(request, users.set_disabled, name, actor, change.disabled)
    if change.admin is not None:
        user = await call(request, users.set_admin, name, actor, change.admin)
    if change.password is not None:
        user = await call(request, users.reset_password, name, actor, change.password)
    return UserView.of(user)
