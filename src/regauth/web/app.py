"""The site: the API (`create_app`) with the pages mounted under `[web] path_prefix`, as
`regauth serve` runs it; and the pages' own application."""

from __future__ import annotations

from pathlib import Path

from aiohttp import web

from regauth.http.app import create_app
from regauth.http.appkeys import RUNTIME, TRUSTED_PROXIES
from regauth.http.forwarding import TrustedProxies
from regauth.runtime import Runtime
from regauth.web.cookies import CookieSigner
from regauth.web.handlers import account, oidc, sign_in, tokens
from regauth.web.keys import ONCE, PENDING_SIGN_ON, PREFIX, SIGNER, TEMPLATES
from regauth.web.middleware import pages_middleware
from regauth.web.routes import add_admin_routes, add_org_routes
from regauth.web.shown_once import OnceSealer
from regauth.web.templates import Templates

_HERE = Path(__file__).parent
# Time to sign in at the identity provider (a password, a second factor) and come back.
SIGN_ON_SECONDS = 600


def create_site(runtime: Runtime, *, metrics_dir: Path | None = None) -> web.Application:
    """What `regauth serve` serves: the API, and the pages unless `[web] enabled = false`."""
    app = create_app(runtime, metrics_dir=metrics_dir)
    if runtime.config.web.enabled:
        app.add_subapp(runtime.config.web.path_prefix, create_pages(runtime))
    return app


def create_pages(runtime: Runtime) -> web.Application:
    prefix = runtime.config.web.path_prefix
    pages = web.Application(middlewares=[pages_middleware])
    pages[RUNTIME] = runtime
    pages[TRUSTED_PROXIES] = TrustedProxies(lambda: runtime.config.server.trusted_proxies)
    pages[SIGNER] = CookieSigner(runtime.keyring.hmac_key)
    pages[ONCE] = OnceSealer(runtime.keyring.hmac_key)
    pages[PENDING_SIGN_ON] = OnceSealer(
        runtime.keyring.hmac_key,
        purpose=b"regauth web single sign-on",
        lifetime_seconds=SIGN_ON_SECONDS,
    )
    pages[PREFIX] = prefix
    # The sign-in page's "Sign in with ..." button, as the live [oidc] settings say.
    pages[TEMPLATES] = Templates({"single_sign_on": lambda: runtime.oidc_sign_in.button})
    pages.router.add_get("/", sign_in.home)
    pages.router.add_get("/sign-in", sign_in.page)
    pages.router.add_post("/sign-in", sign_in.submit)
    pages.router.add_post("/sign-in/code", sign_in.submit_code)
    pages.router.add_get("/sign-in/oidc", oidc.start)
    pages.router.add_get(oidc.CALLBACK, oidc.callback)
    pages.router.add_post("/sign-out", sign_in.sign_out)
    pages.router.add_get("/settings/tokens", tokens.index)
    pages.router.add_get("/settings/tokens/new", tokens.new)
    pages.router.add_post("/settings/tokens/new", tokens.create)
    pages.router.add_get("/settings/tokens/{uuid}/created", tokens.created)
    pages.router.add_get("/settings/tokens/{uuid}/edit", tokens.edit)
    pages.router.add_post("/settings/tokens/{uuid}/edit", tokens.rename)
    pages.router.add_post("/settings/tokens/{uuid}/activate", tokens.activate)
    pages.router.add_post("/settings/tokens/{uuid}/deactivate", tokens.deactivate)
    pages.router.add_get("/settings/tokens/{uuid}/regenerate", tokens.confirm_regenerate)
    pages.router.add_post("/settings/tokens/{uuid}/regenerate", tokens.regenerate)
    pages.router.add_get("/settings/tokens/{uuid}/delete", tokens.confirm_delete)
    pages.router.add_post("/settings/tokens/{uuid}/delete", tokens.delete)
    pages.router.add_get("/settings/security", account.security)
    pages.router.add_post("/settings/security/2fa/enroll", account.enroll)
    pages.router.add_post("/settings/security/2fa/confirm", account.confirm)
    pages.router.add_post("/settings/security/2fa/disable", account.disable)
    pages.router.add_post("/settings/security/sessions/{uuid}/end", account.end_session)
    pages.router.add_post("/settings/security/browsers/end", account.end_browser)
    pages.router.add_get("/settings/password", account.password_page)
    pages.router.add_post("/settings/password", account.change_password)
    add_org_routes(pages.router)
    add_admin_routes(pages.router)
    pages.router.add_static("/static/", _HERE / "static", append_version=False)
    return pages
