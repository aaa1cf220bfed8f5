"""create_app: the aiohttp application over a runtime (runtime.py builds every object; this only
wires HTTP: middleware, the access log, routes); tests build it the same way."""

from __future__ import annotations

import functools
from collections.abc import AsyncIterator

from aiohttp import web

from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.decoding import MAX_BODY_BYTES
from regauth.http.forwarding import parse_networks
from regauth.http.handlers import (
    admin_misc,
    admin_tokens,
    admin_users,
    health,
    hub,
    openapi,
    org_tokens,
    orgs,
    security,
    token,
)
from regauth.http.middleware import expect_continue, make_middleware
from regauth.logs import AccessLog
from regauth.runtime import Runtime
from regauth.services.usage import PeriodicFlusher


def create_app(runtime: Runtime) -> web.Application:
    config = runtime.config
    access_log = (
        AccessLog() if config.server.access_log and config.log.level in ("debug", "info") else None
    )
    app = web.Application(
        middlewares=[make_middleware(access_log=access_log)],
        client_max_size=MAX_BODY_BYTES,
        # Bodies arrive as sent and `decoding.decode_content` undoes gzip and deflate with our
        # limits and errors: aiohttp's own decoder raised from inside the protocol (a 500 and a
        # second traceback when it drained the body) and refuses br/zstd with a text/plain 400.
        handler_args={"auto_decompress": False},
    )
    flushers = [*runtime.flushers(), *([access_log.flush] if access_log else [])]
    flusher = PeriodicFlusher(flushers, interval=config.storage.usage_flush_seconds)
    app[RUNTIME] = runtime
    app[TRUSTED_PROXIES] = parse_networks(config.server.trusted_proxies)

    async def batch_writes(app: web.Application) -> AsyncIterator[None]:
        await flusher.start()
        yield
        await flusher.stop()

    app.cleanup_ctx.append(batch_writes)
    add_routes(app)
    return app


def add_routes(app: web.Application) -> None:
    r = _Router(app.router)
    r.add_get("/token", token.get_token)
    r.add_post("/token", token.post_token)
    r.add_get("/healthz", health.healthz)
    # Self-service, in Docker Hub's shapes.
    r.add_post("/v2/users/login", hub.users_login)
    r.add_post("/v2/auth/token", hub.auth_token)
    r.add_get("/v2/access-tokens", hub.list_tokens)
    r.add_post("/v2/access-tokens", hub.create_token)
    r.add_get("/v2/access-tokens/{uuid}", hub.get_token)
    r.add_patch("/v2/access-tokens/{uuid}", hub.patch_token)
    r.add_delete("/v2/access-tokens/{uuid}", hub.delete_token)
    r.add_post("/v2/users/2fa-login", security.second_factor_login)
    r.add_post("/v2/account/2fa/enroll", security.enroll)
    r.add_post("/v2/account/2fa/confirm", security.confirm)
    r.add_post("/v2/account/2fa/disable", security.disable)
    r.add_get("/v2/account/audit", security.account_audit)
    r.add_post("/v2/credentials/revoke", security.revoke_credentials)
    # Organizations, in Docker Hub's shapes.
    o = "/v2/orgs/{org}"
    r.add_get(f"{o}/access-tokens", org_tokens.list_tokens)
    r.add_post(f"{o}/access-tokens", org_tokens.create)
    r.add_get(f"{o}/access-tokens/{{token}}", org_tokens.get_token)
    r.add_patch(f"{o}/access-tokens/{{token}}", org_tokens.patch_token)
    r.add_delete(f"{o}/access-tokens/{{token}}", org_tokens.delete_token)
    r.add_get(f"{o}/members", orgs.list_members)
    r.add_put(f"{o}/members/{{username}}", orgs.put_member)
    r.add_delete(f"{o}/members/{{username}}", orgs.delete_member)
    r.add_get(f"{o}/groups", orgs.list_groups)
    r.add_post(f"{o}/groups", orgs.create_group)
    r.add_get(f"{o}/groups/{{group}}", orgs.get_group)
    r.add_patch(f"{o}/groups/{{group}}", orgs.patch_group)
    r.add_delete(f"{o}/groups/{{group}}", orgs.delete_group)
    r.add_get(f"{o}/groups/{{group}}/members", orgs.list_group_members)
    r.add_post(f"{o}/groups/{{group}}/members", orgs.add_group_member)
    r.add_delete(f"{o}/groups/{{group}}/members/{{username}}", orgs.delete_group_member)
    r.add_put(f"{o}/groups/{{group}}/permissions", orgs.put_group_permission)
    # A repository name holds "/": `(?s:.+)` takes any character, newlines too (`.+` did not),
    # so a bad name reaches the handler (authentication first, then a 400) instead of no route.
    r.add_patch(
        "/v2/namespaces/{namespace}/repositories/{repository:(?s:.+)}", orgs.patch_repository
    )
    # Administration.
    r.add_get("/admin/v1/users", admin_users.list_users)
    r.add_post("/admin/v1/users", admin_users.create_user)
    r.add_get("/admin/v1/users/{name}", admin_users.get_user)
    r.add_patch("/admin/v1/users/{name}", admin_users.patch_user)
    r.add_get("/admin/v1/tokens", admin_tokens.list_tokens)
    r.add_get("/admin/v1/tokens/{id}", admin_tokens.get_token)
    r.add_patch("/admin/v1/tokens/{id}", admin_tokens.patch_token)
    r.add_delete("/admin/v1/tokens/{id}", admin_tokens.delete_token)
    r.add_get("/admin/v1/repositories", admin_misc.list_repositories)
    r.add_patch("/admin/v1/repositories/{name:(?s:.+)}", admin_misc.set_visibility)
    r.add_get("/admin/v1/audit", admin_misc.list_audit)
    r.add_post("/admin/v1/explain", admin_misc.explain)
    r.add_get("/admin/v1/orgs", admin_misc.list_orgs)
    r.add_post("/admin/v1/orgs", admin_misc.create_org)
    r.add_delete("/admin/v1/orgs/{name}", admin_misc.delete_org)
    r.add_get("/openapi.json", openapi.serve)


class _Router:
    """The router's add_* with our Expect handler on every route: aiohttp's own answers an
    unknown expectation with a text/plain 417 that echoes the header, and with a 500 when the
    header holds bytes that are not UTF-8."""

    def __init__(self, router: web.UrlDispatcher) -> None:
        self.add_get = functools.partial(router.add_get, expect_handler=expect_continue)
        self.add_post = functools.partial(router.add_post, expect_handler=expect_continue)
        self.add_put = functools.partial(router.add_put, expect_handler=expect_continue)
        self.add_patch = functools.partial(router.add_patch, expect_handler=expect_continue)
        self.add_delete = functools.partial(router.add_delete, expect_handler=expect_continue)
