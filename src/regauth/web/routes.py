"""The routes of the organization and administration pages (`create_pages` adds them)."""

from __future__ import annotations

from aiohttp import web

from regauth.web.handlers import admin, org_tokens, orgs


def add_org_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/orgs", orgs.index)
    router.add_get("/orgs/{org}", orgs.show)
    router.add_post("/orgs/{org}/members", orgs.set_member)
    router.add_post("/orgs/{org}/members/{username}/role", orgs.change_role)
    router.add_post("/orgs/{org}/members/{username}/remove", orgs.remove_member)
    router.add_post("/orgs/{org}/teams", orgs.create_team)
    router.add_get("/orgs/{org}/teams/{team}", orgs.team)
    router.add_post("/orgs/{org}/teams/{team}/members", orgs.add_team_member)
    router.add_post("/orgs/{org}/teams/{team}/members/{username}/remove", orgs.remove_team_member)
    router.add_post("/orgs/{org}/teams/{team}/permissions", orgs.set_permission)
    router.add_get("/orgs/{org}/tokens", org_tokens.index)
    router.add_get("/orgs/{org}/tokens/new", org_tokens.new)
    router.add_post("/orgs/{org}/tokens/new", org_tokens.create)
    router.add_get("/orgs/{org}/tokens/{token}/created", org_tokens.created)
    router.add_post("/orgs/{org}/tokens/{token}/activate", org_tokens.activate)
    router.add_post("/orgs/{org}/tokens/{token}/deactivate", org_tokens.deactivate)
    router.add_get("/orgs/{org}/tokens/{token}/regenerate", org_tokens.confirm_regenerate)
    router.add_post("/orgs/{org}/tokens/{token}/regenerate", org_tokens.regenerate)
    router.add_get("/orgs/{org}/tokens/{token}/delete", org_tokens.confirm_delete)
    router.add_post("/orgs/{org}/tokens/{token}/delete", org_tokens.delete)


def add_admin_routes(router: web.UrlDispatcher) -> None:
    router.add_get("/admin", admin.home)
    router.add_get("/admin/users", admin.users)
    router.add_post("/admin/users", admin.create_user)
    router.add_post("/admin/users/{name}/{change}", admin.change_user)
    router.add_get("/admin/tokens", admin.tokens)
    router.add_post("/admin/tokens/{id}/activate", admin.activate_token)
    router.add_post("/admin/tokens/{id}/deactivate", admin.deactivate_token)
    router.add_get("/admin/tokens/{id}/delete", admin.confirm_delete_token)
    router.add_post("/admin/tokens/{id}/delete", admin.delete_token)
    router.add_get("/admin/repositories", admin.repositories)
    router.add_post("/admin/repositories", admin.set_visibility)
    router.add_get("/admin/audit", admin.audit)
    router.add_get("/admin/notifications", admin.notifications)
    router.add_post("/admin/notifications/{id}/retry", admin.retry_notification)
    router.add_get("/admin/explain", admin.explain_form)
    router.add_post("/admin/explain", admin.explain)
