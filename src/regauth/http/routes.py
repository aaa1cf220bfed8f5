"""The route table: every operation, with its handler, models and answers, in one place.

`create_app` serves `ROUTES` and `regauth.http.openapi` generates the document from them. Each
handler's docstring is its operation's summary and description; `access` adds who may call it
(and the 401/403/404 that follow); a body brings the 400, 413 and 415 of the input boundary, a
query the 400. `errors` lists a route's own answers (its other statuses are the shared ones).
"""

from __future__ import annotations

from regauth.http.handlers import (
    admin_misc,
    admin_tokens,
    admin_users,
    health,
    hub,
    hygiene,
    openapi,
    org_tokens,
    orgs,
    security,
    token,
)
from regauth.http.models import account as a
from regauth.http.models import admin as m
from regauth.http.models import explain as e
from regauth.http.models import hygiene as h
from regauth.http.models import org_tokens as t
from regauth.http.models import orgs as o
from regauth.http.models import registry as r
from regauth.http.models.base import NoContent, PageQuery
from regauth.http.routing import FORM, Access, Answer, PathParam, Route, Security, route

# Who may call

ANYONE = Access(security=(), errors=())
SIGN_IN = Access(security=(), errors=(429,))  # failed sign-ins are throttled
REGISTRY = Access(security=({}, {"basic": []}), errors=(401, 429))
ACCOUNT_READ = Access(security=({"session": []},), errors=(401, 403))
ACCOUNT = Access(
    security=({"session": []},),
    errors=(401, 403),
    note="Needs a password session: a session opened with a personal access token (or an "
    "admin API key) gets 403.",
)
_SESSION_OR_KEY: Security = ({"session": []}, {"adminKey": []})
ORG_MEMBER = Access(
    security=_SESSION_OR_KEY,
    errors=(401, 404),
    note="Members of the organization may read it, with any session (one opened with a "
    "personal access token too), and so may administrators (an admin user's password session, "
    "or an admin API key); anyone else gets 404, as if the organization did not exist.",
)
ORG_OWNER = Access(
    security=_SESSION_OR_KEY,
    errors=(401, 403, 404),
    note="Needs an owner of the organization with a password session, or an administrator (an "
    "admin user's password session, or an admin API key). A member who is not an owner, or a "
    "session opened with a personal access token, gets 403; anyone who is not a member gets "
    "404, as if the organization did not exist.",
)
NAMESPACE_OWNER = Access(security=_SESSION_OR_KEY, errors=(401, 403, 404))
ADMIN = Access(
    security=_SESSION_OR_KEY,
    errors=(401, 403),
    note="Needs an administrator: a password session of an admin user, or an admin API key "
    "(`rga_...`). A session opened with a personal access token gets 403, whoever owns it.",
)

# Path parameters

UUID = PathParam(
    "uuid",
    "accessTokenUuid",
    "The token's `uuid` (Docker Hub's handle); regauth also accepts its public `id`.",
)
ORG = PathParam(
    "org",
    "orgName",
    "Organization name (its registry namespace). Credentials are checked first (401); then an "
    "organization that does not exist, or that the caller is not a member of, is a 404.",
    "acme",
)
ORG_TOKEN = PathParam(
    "token",
    "orgAccessTokenId",
    "The token's `id` (a UUID, Docker Hub's handle); regauth also accepts its public `token_id`.",
    "a7a5ef25-8889-43a0-8cc7-f2a94268e861",
)
GROUP = PathParam("group", "groupName", "Name of the group (team) in the organization.", "devs")
MEMBER = PathParam("username", "memberUsername", "User name.", "dave")
NAMESPACE = PathParam("namespace", "namespace", "A user name or an organization name.", "acme")
NAMESPACE_REPOSITORY = PathParam(
    "repository",
    "namespaceRepository",
    "The repository's path inside the namespace. It may contain slashes: this parameter takes "
    "the rest of the URL path, so send them as they are (`ci/build`) or percent-encoded "
    "(`ci%2Fbuild`).",
    "app",
)
USER = PathParam("name", "userName", "User name.")
TOKEN_ID = PathParam("id", "tokenId", "The token's public id (not its UUID).")
REPOSITORY = PathParam(
    "name",
    "repositoryName",
    "The full repository path. It contains slashes: this parameter takes the rest of the URL "
    "path, so send them as they are (`/admin/v1/repositories/team/app`) or percent-encoded "
    "(`team%2Fapp`); both work.",
    "team/app",
)
ADMIN_ORG = PathParam("name", "adminOrgName", "Organization name.", "acme")
NOTIFICATION = PathParam(
    "id", "notificationId", "The notification's id.", "5b0d2c8e-7f51-4f0e-9d55-1f1c36a3b0a7"
)

# A repository name holds "/": `(?s:.+)` takes any character, newlines too (`.+` did not),
# so a bad name reaches the handler (authentication first, then a 400) instead of no route.
_ANY = ":(?s:.+)"
_O = "/v2/orgs/{org}"
_LOGIN_401 = Answer(
    401,
    "Authentication failed (Docker Hub's `PostUsersLoginErrorResponse`: `detail`). With the "
    "right password for an account with two-factor authentication on, the body also carries "
    "`login_2fa_token`, the ticket for `/v2/users/2fa-login`.",
)
_TWO_FACTOR_ON = Answer(409, "Two-factor authentication is already on.")
_LAST_OWNER = "The user is the organization's last owner"
_HUB = "(Docker Hub's `{}`)"
_REGENERATE_409 = Answer(
    409,
    "A session token, an expired token, a disabled account's, one regenerated at the same moment by another request, or a grace period for a secret revoked as leaked.",
)
_ACTIVATE_409 = Answer(
    409,
    "Activating a token whose secret was revoked as leaked (regenerate it first), or past `limits.max_active_tokens`.",
)

ROUTES: tuple[Route, ...] = (
    # The registry's realm.
    route(
        "GET", "/token", token.get_token, query=r.RegistryTokenQuery,
        response=r.RegistryTokenResponse, by_hand="the hot path: hand-tuned reads",
        operation_id="getRegistryToken", tag="registry-auth", access=REGISTRY,
        ok="The token, and the same value again as `access_token`.",
        errors=(Answer(400, "Malformed `Authorization` header (not ASCII, not Basic, bad base64, no colon, too long), a `User-Agent` that is not UTF-8, a query value that is not valid UTF-8, an `offline_token` that is not a boolean, an invalid username, an unknown `service`, or `account` differing from the username."),),
    ),
    route(
        "POST", "/token", token.post_token, body=r.OAuthTokenRequest, media=FORM,
        response=r.OAuthTokenResponse, by_hand="the hot path: hand-tuned reads",
        operation_id="postRegistryToken", tag="registry-auth",
        access=Access(security=(), errors=(401, 429)), ok="The token, with the granted scopes.",
        errors=(Answer(400, "Not a form, a form that is not UTF-8 (or whose `charset` is not), a repeated field (RFC 6749 §3.1), a field that is not text, an unsupported `grant_type` (`error: unsupported_grant_type`), an `access_type` other than `online` or `offline`, an invalid username, or an unknown `service` (`error: invalid_request`)."),),
    ),
    # Self-service, in Docker Hub's shapes.
    route(
        "POST", "/v2/users/login", hub.users_login, body=a.UsersLoginRequest,
        response=a.PostUsersLoginSuccessResponse, operation_id="PostUsersLogin",
        tag="authentication", access=SIGN_IN, ok="Authentication successful.",
        errors=(_LOGIN_401,),
    ),
    route(
        "POST", "/v2/users/2fa-login", security.second_factor_login,
        body=a.Users2FALoginRequest, response=a.PostUsersLoginSuccessResponse,
        operation_id="PostUsers2FALogin", tag="authentication", access=SIGN_IN,
        ok="Authentication successful: a password session.",
        errors=(Answer(401, "The ticket is invalid or expired, or the code is not valid (Docker Hub's `PostUsers2FALoginErrorResponse`: `detail`)."),),
    ),
    route(
        "POST", "/v2/auth/token", hub.auth_token, body=a.AuthCreateTokenRequest,
        response=a.AuthCreateTokenResponse, operation_id="AuthCreateAccessToken",
        tag="authentication", access=SIGN_IN, ok="Token created.", errors=(_LOGIN_401,),
    ),
    route(
        "GET", "/v2/access-tokens", hub.list_tokens, query=h.AccessTokenListQuery,
        response=a.GetAccessTokensResponse, operation_id="listAccessTokens",
        tag="access-tokens", access=ACCOUNT_READ, ok="A page of tokens.",
    ),
    route(
        "POST", "/v2/access-tokens", hub.create_token, body=a.CreateAccessTokenRequest,
        response=a.AccessToken, status=201, operation_id="createAccessToken",
        tag="access-tokens", access=ACCOUNT,
        ok=f"Created; `token` holds the secret {_HUB.format('createAccessTokensResponse')}.",
        errors=(
            Answer(409, "The account holds the most active tokens allowed: deactivate or delete one first."),
            Answer(429, "The account created the most tokens allowed in the last hour."),
        ),
    ),
    route(
        "GET", "/v2/access-tokens/{uuid}", hub.get_token, response=a.AccessToken,
        operation_id="getAccessToken", tag="access-tokens", access=ACCOUNT_READ, params=(UUID,),
        ok="The token, without its secret: `token` is `\"\"`.", errors=(Answer(404),),
    ),
    route(
        "PATCH", "/v2/access-tokens/{uuid}", hub.patch_token, body=a.PatchAccessTokenRequest,
        response=a.AccessToken, operation_id="updateAccessToken", tag="access-tokens",
        access=ACCOUNT, params=(UUID,), errors=(Answer(404), _ACTIVATE_409),
        ok=f"The updated token, without its secret {_HUB.format('patchAccessTokenResponse')}.",
    ),
    route(
        "DELETE", "/v2/access-tokens/{uuid}", hub.delete_token, response=NoContent,
        operation_id="deleteAccessToken", tag="access-tokens", access=ACCOUNT, params=(UUID,),
        ok="Deleted.", errors=(Answer(404),),
    ),
    route(
        "POST", "/v2/access-tokens/{uuid}/regenerate", hygiene.regenerate_token,
        body=h.RegenerateAccessTokenRequest, response=h.RegeneratedAccessToken,
        operation_id="regenerateAccessToken", tag="access-tokens", access=ACCOUNT,
        params=(UUID,), addition=True,
        ok="The same token with its new secret in `token`, shown this once.",
        errors=(Answer(404), _REGENERATE_409),
    ),
    # Account security.
    route(
        "POST", "/v2/account/2fa/enroll", security.enroll, response=a.TwoFactorEnrollment,
        operation_id="enrollTwoFactor", tag="account", access=ACCOUNT,
        ok="The secret to load into an authenticator app.", errors=(_TWO_FACTOR_ON,),
    ),
    route(
        "POST", "/v2/account/2fa/confirm", security.confirm, body=a.TwoFactorCodeRequest,
        response=a.RecoveryCodes, operation_id="confirmTwoFactor", tag="account",
        access=ACCOUNT, ok="On; keep the recovery codes somewhere safe.",
        errors=(
            Answer(400, "No enrollment was started, or the code is not valid (check the authenticator's clock); or the body is malformed."),
            _TWO_FACTOR_ON,
        ),
    ),
    route(
        "POST", "/v2/account/2fa/disable", security.disable, body=a.TwoFactorCodeRequest,
        response=NoContent, operation_id="disableTwoFactor", tag="account", access=ACCOUNT,
        ok="Off.",
        errors=(Answer(401, "No valid session, or the code is not valid (also when two-factor authentication is off)."),),
    ),
    route(
        "GET", "/v2/account/audit", security.account_audit, response=m.AuditEventList,
        operation_id="getAccountAudit", tag="account", access=ACCOUNT_READ,
        ok="The events, newest first.",
    ),
    route(
        "POST", "/v2/credentials/revoke", security.revoke_credentials,
        body=a.RevokeCredentialsRequest, response=a.RevokeCredentialsResponse, status=202,
        operation_id="revokeCredentials", tag="account", access=ANYONE,
        ok="Accepted; valid credentials among those reported are deactivated.",
        errors=(Answer(429, "Too many reports from this address: wait `Retry-After` seconds."),),
    ),
    # Organizations, in Docker Hub's shapes.
    route(
        "GET", f"{_O}/access-tokens", org_tokens.list_tokens, query=PageQuery,
        response=t.GetOrgAccessTokensResponse, operation_id="listOrgAccessTokens",
        tag="org-access-tokens", access=ORG_OWNER, params=(ORG,), ok="A page of tokens.",
    ),
    route(
        "POST", f"{_O}/access-tokens", org_tokens.create, body=t.CreateOrgAccessTokenRequest,
        response=t.CreatedOrgAccessToken, status=201, operation_id="createOrgAccessToken",
        tag="org-access-tokens", access=ORG_OWNER, params=(ORG,),
        ok="Created; `token` holds the secret.",
        errors=(Answer(409, "The organization holds the most tokens allowed (`limits.org_tokens_per_org`): delete one first."),),
    ),
    route(
        "GET", f"{_O}/access-tokens/{{token}}", org_tokens.get_token, response=t.OrgAccessToken,
        operation_id="getOrgAccessToken", tag="org-access-tokens", access=ORG_OWNER,
        params=(ORG, ORG_TOKEN), ok="The token.",
    ),
    route(
        "PATCH", f"{_O}/access-tokens/{{token}}", org_tokens.patch_token,
        body=t.UpdateOrgAccessTokenRequest, response=t.OrgAccessToken,
        operation_id="updateOrgAccessToken", tag="org-access-tokens", access=ORG_OWNER,
        params=(ORG, ORG_TOKEN),
        ok=f"The updated token, without its secret {_HUB.format('updateOrgAccessTokenResponse')}.",
        errors=(Answer(409, "Activating a token whose secret was revoked as leaked: regenerate it first."),),
    ),
    route(
        "DELETE", f"{_O}/access-tokens/{{token}}", org_tokens.delete_token, response=NoContent,
        operation_id="deleteOrgAccessToken", tag="org-access-tokens", access=ORG_OWNER,
        params=(ORG, ORG_TOKEN), ok="Deleted.",
    ),
    route(
        "POST", f"{_O}/access-tokens/{{token}}/regenerate", hygiene.regenerate_org_token,
        body=h.RegenerateAccessTokenRequest, response=h.RegeneratedOrgAccessToken,
        operation_id="regenerateOrgAccessToken", tag="org-access-tokens", access=ORG_OWNER,
        params=(ORG, ORG_TOKEN), addition=True,
        ok="The same token with its new secret in `token`, shown this once.",
        errors=(Answer(404), Answer(409, "An expired token, one regenerated at the same moment by another request, or a grace period for a secret revoked as leaked.")),
    ),
    route(
        "GET", f"{_O}/members", orgs.list_members, response=o.OrgMemberPage,
        operation_id="listOrgMembers", tag="orgs", access=ORG_MEMBER, params=(ORG,),
        ok="The members.",
    ),
    route(
        "PUT", f"{_O}/members/{{username}}", orgs.put_member, body=o.UpdateOrgMemberRequest,
        response=o.OrgMemberView, operation_id="updateOrgMember", tag="orgs",
        access=ORG_OWNER, params=(ORG, MEMBER), ok="The member as they are now.",
        errors=(Answer(409, f"{_LAST_OWNER}: make someone else an owner first."),),
    ),
    route(
        "DELETE", f"{_O}/members/{{username}}", orgs.delete_member, response=NoContent,
        operation_id="removeOrgMember", tag="orgs", access=ORG_OWNER, params=(ORG, MEMBER),
        ok="Removed.", errors=(Answer(409, f"{_LAST_OWNER}."),),
    ),
    route(
        "GET", f"{_O}/groups", orgs.list_groups, response=o.OrgGroupPage,
        operation_id="listOrgGroups", tag="groups", access=ORG_MEMBER, params=(ORG,),
        ok="The groups.",
    ),
    route(
        "POST", f"{_O}/groups", orgs.create_group, body=o.CreateOrgGroupRequest,
        response=o.OrgGroup, status=201, operation_id="createOrgGroup", tag="groups",
        access=ORG_OWNER, params=(ORG,), ok="Created.",
        errors=(Answer(409, "The organization has a group of that name."),),
    ),
    route(
        "GET", f"{_O}/groups/{{group}}", orgs.get_group, response=o.OrgGroup,
        operation_id="getOrgGroup", tag="groups", access=ORG_MEMBER, params=(ORG, GROUP),
        ok="The group.",
    ),
    route(
        "PATCH", f"{_O}/groups/{{group}}", orgs.patch_group, body=o.UpdateOrgGroupRequest,
        response=o.OrgGroup, operation_id="updateOrgGroup", tag="groups", access=ORG_OWNER,
        params=(ORG, GROUP), ok="The group as it is now.",
        errors=(Answer(409, "The organization has another group of that name."),),
    ),
    route(
        "DELETE", f"{_O}/groups/{{group}}", orgs.delete_group, response=NoContent,
        operation_id="deleteOrgGroup", tag="groups", access=ORG_OWNER, params=(ORG, GROUP),
        ok="Deleted.",
    ),
    route(
        "GET", f"{_O}/groups/{{group}}/members", orgs.list_group_members,
        response=o.GroupMemberPage, operation_id="listOrgGroupMembers", tag="groups",
        access=ORG_MEMBER, params=(ORG, GROUP), ok="The members.",
    ),
    route(
        "POST", f"{_O}/groups/{{group}}/members", orgs.add_group_member,
        body=o.AddGroupMemberRequest, response=o.OrgGroup, operation_id="addOrgGroupMember",
        tag="groups", access=ORG_OWNER, params=(ORG, GROUP), ok="The group as it is now.",
    ),
    route(
        "DELETE", f"{_O}/groups/{{group}}/members/{{username}}", orgs.delete_group_member,
        response=NoContent, operation_id="removeOrgGroupMember", tag="groups",
        access=ORG_OWNER, params=(ORG, GROUP, MEMBER), ok="Removed.",
    ),
    route(
        "PUT", f"{_O}/groups/{{group}}/permissions", orgs.put_group_permission,
        body=o.SetGroupPermissionRequest, response=o.OrgGroup,
        operation_id="setOrgGroupPermission", tag="groups", access=ORG_OWNER,
        params=(ORG, GROUP), ok="The group as it is now.", addition=True,
    ),
    route(
        "PATCH", f"/v2/namespaces/{{namespace}}/repositories/{{repository{_ANY}}}",
        orgs.patch_repository, body=o.PatchNamespaceRepositoryRequest,
        response=m.RepositoryView, operation_id="updateNamespaceRepository", tag="orgs",
        access=NAMESPACE_OWNER, params=(NAMESPACE, NAMESPACE_REPOSITORY),
        ok="The repository.", addition=True,
    ),
    # Administration.
    route(
        "GET", "/admin/v1/users", admin_users.list_users, response=m.UserList,
        operation_id="adminListUsers", tag="admin", access=ADMIN, ok="The users.",
    ),
    route(
        "POST", "/admin/v1/users", admin_users.create_user, body=m.CreateUserRequest,
        response=m.UserView, status=201, operation_id="adminCreateUser", tag="admin",
        access=ADMIN, ok="Created.", errors=(Answer(409, "A user of that name exists."),),
    ),
    route(
        "GET", "/admin/v1/users/{name}", admin_users.get_user, response=m.UserView,
        operation_id="adminGetUser", tag="admin", access=ADMIN, params=(USER,),
        ok="The user.", errors=(Answer(404),),
    ),
    route(
        "PATCH", "/admin/v1/users/{name}", admin_users.patch_user, body=m.PatchUserRequest,
        response=m.UserView, operation_id="adminUpdateUser", tag="admin", access=ADMIN,
        params=(USER,), ok="The updated user.", errors=(Answer(404),),
    ),
    route(
        "GET", "/admin/v1/tokens", admin_tokens.list_tokens, query=m.TokenSearch,
        response=m.TokenList, operation_id="adminListTokens", tag="admin", access=ADMIN,
        ok="The matching tokens.",
    ),
    route(
        "GET", "/admin/v1/tokens/{id}", admin_tokens.get_token, response=m.Token,
        operation_id="adminGetToken", tag="admin", access=ADMIN, params=(TOKEN_ID,),
        ok="The token.", errors=(Answer(404),),
    ),
    route(
        "PATCH", "/admin/v1/tokens/{id}", admin_tokens.patch_token, body=m.PatchTokenRequest,
        response=m.Token, operation_id="adminUpdateToken", tag="admin", access=ADMIN,
        params=(TOKEN_ID,), ok="The updated token.", errors=(Answer(404), _ACTIVATE_409),
    ),
    route(
        "DELETE", "/admin/v1/tokens/{id}", admin_tokens.delete_token, response=NoContent,
        operation_id="adminDeleteToken", tag="admin", access=ADMIN, params=(TOKEN_ID,),
        ok="Deleted.", errors=(Answer(404),),
    ),
    route(
        "POST", "/admin/v1/tokens/{id}/regenerate", hygiene.admin_regenerate_token,
        body=h.AdminRegenerateTokenRequest, response=h.RegeneratedToken,
        operation_id="adminRegenerateToken", tag="admin", access=ADMIN, params=(TOKEN_ID,),
        ok="The same token with its new secret in `token`, shown this once.",
        errors=(Answer(404), _REGENERATE_409),
    ),
    route(
        "GET", "/admin/v1/stale-tokens", hygiene.stale_tokens, query=h.StaleTokenSearch,
        response=h.StaleTokenList, operation_id="adminListStaleTokens", tag="admin",
        access=ADMIN, ok="The tokens unused for that long.",
    ),
    route(
        "GET", "/admin/v1/notifications", hygiene.list_notifications,
        query=h.NotificationSearch, response=h.NotificationList,
        operation_id="adminListNotifications", tag="admin", access=ADMIN,
        ok="The matching notifications.",
    ),
    route(
        "GET", "/admin/v1/notifications/{id}", hygiene.get_notification,
        response=h.NotificationView, operation_id="adminGetNotification", tag="admin",
        access=ADMIN, params=(NOTIFICATION,), ok="The notification.", errors=(Answer(404),),
    ),
    route(
        "POST", "/admin/v1/notifications/{id}/retry", hygiene.retry_notification,
        response=h.NotificationView, operation_id="adminRetryNotification", tag="admin",
        access=ADMIN, params=(NOTIFICATION,), ok="Due again now.",
        errors=(Answer(404), Answer(409, "The notification was delivered.")),
    ),
    route(
        "GET", "/admin/v1/repositories", admin_misc.list_repositories,
        response=m.RepositoryList, operation_id="adminListRepositories", tag="admin",
        access=ADMIN, ok="The repositories.",
    ),
    route(
        "PATCH", f"/admin/v1/repositories/{{name{_ANY}}}", admin_misc.set_visibility,
        body=m.SetVisibilityRequest, response=m.RepositoryView,
        operation_id="adminSetRepositoryVisibility", tag="admin", access=ADMIN,
        params=(REPOSITORY,), ok="The repository.",
    ),
    route(
        "GET", "/admin/v1/audit", admin_misc.list_audit, query=m.AuditSearch,
        response=m.AuditEventList, operation_id="adminListAudit", tag="admin", access=ADMIN,
        ok="The matching events.",
    ),
    route(
        "POST", "/admin/v1/explain", admin_misc.explain, body=e.ExplainRequest,
        response=e.Explanation, operation_id="adminExplain", tag="admin", access=ADMIN,
        ok="The explanation.", errors=(Answer(404),),
    ),
    route(
        "GET", "/admin/v1/orgs", admin_misc.list_orgs, response=m.OrganizationList,
        operation_id="adminListOrgs", tag="admin", access=ADMIN, ok="The organizations.",
    ),
    route(
        "POST", "/admin/v1/orgs", admin_misc.create_org, body=m.CreateOrganizationRequest,
        response=m.OrganizationView, status=201, operation_id="adminCreateOrg", tag="admin",
        access=ADMIN, ok="Created.",
        errors=(
            Answer(404, "No user of the `owner` name."),
            Answer(409, "The name is taken by a user or an organization."),
        ),
    ),
    route(
        "DELETE", "/admin/v1/orgs/{name}", admin_misc.delete_org, response=NoContent,
        operation_id="adminDeleteOrg", tag="admin", access=ADMIN, params=(ADMIN_ORG,),
        ok="Deleted.", errors=(Answer(404),),
    ),
    # The service.
    route(
        "GET", "/healthz", health.healthz, response=r.Health, operation_id="healthz",
        tag="service", access=ANYONE, ok="Serving.",
        errors=(Answer(500, "The database did not answer."),),
    ),
    route(
        "GET", "/openapi.json", openapi.serve, response=None, operation_id="getOpenApiDocument",
        tag="service", access=ANYONE, ok="The OpenAPI document.",
    ),
)  # fmt: skip
