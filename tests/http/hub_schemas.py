"""Docker Hub's documented shapes for the routes regauth mirrors, copied for the contract test.

Source: Docker Hub's published OpenAPI description, "Docker HUB API" (openapi 3.0.3,
info.version "beta"), https://docs.docker.com/reference/api/hub/latest.yaml (docker/docs:
content/reference/api/hub/latest.yaml). Copied from its `components/schemas`:
UsersLoginRequest, PostUsersLoginSuccessResponse, PostUsersLoginErrorResponse,
Users2FALoginRequest, PostUsers2FALoginErrorResponse, AuthCreateTokenResponse, accessToken,
createAccessTokenRequest, getAccessTokensResponse, patchAccessTokenRequest, Error, error and
ValueError; plus the inline request body of `POST /v2/auth/token` (operation
AuthCreateAccessToken) and the inline `allOf` response of `GET /v2/access-tokens/{uuid}`.

For the organization routes: orgAccessToken, orgAccessTokenResource, getOrgAccessTokenResponse,
createOrgAccessTokenRequest, createOrgAccessTokenResponse, updateOrgAccessTokenRequest,
updateOrgAccessTokenResponse, getOrgAccessTokensResponse, user, org_member,
org_member_paginated, org_group, group_member and the request body add_member_to_org_group;
plus the inline request bodies of `PUT /v2/orgs/{org_name}/members/{username}`,
`POST /v2/orgs/{org_name}/groups` and `PATCH /v2/orgs/{org_name}/groups/{group_name}`, and the
inline 200 bodies of `GET /v2/orgs/{org_name}/groups` and
`GET /v2/orgs/{org_name}/groups/{group_name}/members`.

Kept as published: property names, `type`, `nullable`, `required`, `enum`, array `items`,
`allOf`, and an `example` only where it is null (a null example is how the Hub says a field may
be null where its schema forgot `nullable`: `next` and `previous`). Descriptions and other
examples are left out. Two spellings are normalised so the checker reads them: a property's own
`required: true` (orgAccessTokenResource, createOrgAccessTokenRequest) becomes the object's
`required` list, and `org_member`'s `properties` beside its `allOf: [user]` become a second
`allOf` part. The copy lives here so the tests never read anything outside the repository.
"""

from __future__ import annotations

from typing import Any

Schema = dict[str, Any]

STRING: Schema = {"type": "string"}

USERS_LOGIN_REQUEST: Schema = {
    "type": "object",
    "required": ["username", "password"],
    "properties": {"username": STRING, "password": STRING},
}

POST_USERS_LOGIN_SUCCESS_RESPONSE: Schema = {
    "type": "object",
    "properties": {"token": {"type": "string", "nullable": False}},
}

POST_USERS_LOGIN_ERROR_RESPONSE: Schema = {
    "type": "object",
    "required": ["detail"],
    "properties": {
        "detail": {"type": "string", "nullable": False},
        # "This field is present only if 2FA is enabled."
        "login_2fa_token": {"type": "string", "nullable": True},
    },
}

USERS_2FA_LOGIN_REQUEST: Schema = {
    "type": "object",
    "required": ["login_2fa_token", "code"],
    "properties": {"login_2fa_token": STRING, "code": STRING},
}

# PostUsers2FALogin answers 200 with PostUsersLoginSuccessResponse, 401 with this.
POST_USERS_2FA_LOGIN_ERROR_RESPONSE: Schema = {
    "type": "object",
    "properties": {"detail": {"type": "string", "nullable": False}},
}

# The inline requestBody schema of AuthCreateAccessToken (POST /v2/auth/token).
AUTH_CREATE_ACCESS_TOKEN_REQUEST: Schema = {
    "type": "object",
    "required": ["identifier", "secret"],
    "properties": {"identifier": STRING, "secret": STRING},
}

AUTH_CREATE_TOKEN_RESPONSE: Schema = {
    "type": "object",
    "properties": {"access_token": STRING},
}

ACCESS_TOKEN: Schema = {
    "type": "object",
    "properties": {
        "uuid": STRING,
        "client_id": STRING,
        "creator_ip": STRING,
        "creator_ua": STRING,
        "created_at": STRING,
        "last_used": {"type": "string", "example": None, "nullable": True},
        "generated_by": STRING,
        "is_active": {"type": "boolean"},
        "token": STRING,
        "token_label": STRING,
        "scopes": {"type": "array", "items": STRING},
    },
}

# createAccessTokensResponse and patchAccessTokenResponse are both `$ref: accessToken`.
CREATE_ACCESS_TOKENS_RESPONSE = ACCESS_TOKEN
PATCH_ACCESS_TOKEN_RESPONSE = ACCESS_TOKEN

# GET /v2/access-tokens/{uuid} 200, and each item of getAccessTokensResponse.results
# (the Hub's example for `token` there is "").
ACCESS_TOKEN_WITHOUT_SECRET: Schema = {
    "allOf": [ACCESS_TOKEN, {"type": "object", "properties": {"token": STRING}}],
}

CREATE_ACCESS_TOKEN_REQUEST: Schema = {
    "type": "object",
    "required": ["token_label", "scopes"],
    "properties": {
        "token_label": {"type": "string", "minLength": 1, "maxLength": 100},
        # Valid scopes: "repo:admin", "repo:write", "repo:read", "repo:public_read"
        "scopes": {"type": "array", "items": STRING},
        "expires_at": {"type": "string", "format": "date-time"},
    },
}

GET_ACCESS_TOKENS_RESPONSE: Schema = {
    "type": "object",
    "properties": {
        "count": {"type": "number"},
        "next": {"type": "string", "example": None},
        "previous": {"type": "string", "example": None},
        "active_count": {"type": "number"},
        "results": {"type": "array", "items": ACCESS_TOKEN_WITHOUT_SECRET},
    },
}

PATCH_ACCESS_TOKEN_REQUEST: Schema = {
    "type": "object",
    "properties": {
        "token_label": {"type": "string", "minLength": 1, "maxLength": 100},
        "is_active": {"type": "boolean"},
    },
}

# components/responses Unauthorized, Forbidden and NotFound of the access-token routes, personal
# and organization ones.
ERROR: Schema = {
    "type": "object",
    "properties": {"detail": STRING, "message": STRING},
}

# components/responses `unauthorized` (lower case), the 401 of AuthCreateAccessToken; the same
# `error` schema is behind the lower-case bad_request, unauthorized, forbidden and not_found of
# the organization member and group routes.
ERROR_LOWERCASE: Schema = {
    "type": "object",
    "properties": {"errinfo": {"type": "object"}, "detail": STRING, "message": STRING},
}

# components/responses BadRequest of the access-token routes, personal and organization ones.
VALUE_ERROR: Schema = {
    "type": "object",
    "properties": {"fields": {"type": "object"}, "text": STRING},
}


# --- Organizations ------------------------------------------------------------------------------

DATE_TIME: Schema = {"type": "string", "format": "date-time"}

ORG_ACCESS_TOKEN: Schema = {
    "type": "object",
    "properties": {
        "id": STRING,
        "label": STRING,
        "created_by": STRING,
        "is_active": {"type": "boolean"},
        "created_at": DATE_TIME,
        "expires_at": {**DATE_TIME, "nullable": True},
        "last_used_at": {**DATE_TIME, "nullable": True},
    },
}

# Published with `required: true` on each property; the scopes' example is "repo-pull".
ORG_ACCESS_TOKEN_RESOURCE: Schema = {
    "type": "object",
    "required": ["type", "path", "scopes"],
    "properties": {
        "type": {"type": "string", "enum": ["TYPE_REPO", "TYPE_ORG"]},
        "path": STRING,
        "scopes": {"type": "array", "items": STRING},
    },
}

_RESOURCES: Schema = {"type": "array", "items": ORG_ACCESS_TOKEN_RESOURCE}

GET_ORG_ACCESS_TOKEN_RESPONSE: Schema = {
    "allOf": [ORG_ACCESS_TOKEN, {"type": "object", "properties": {"resources": _RESOURCES}}],
}

CREATE_ORG_ACCESS_TOKEN_RESPONSE: Schema = {
    "type": "object",
    "allOf": [
        ORG_ACCESS_TOKEN,
        {"type": "object", "properties": {"token": STRING, "resources": _RESOURCES}},
    ],
}

UPDATE_ORG_ACCESS_TOKEN_RESPONSE: Schema = {
    "type": "object",
    "allOf": [ORG_ACCESS_TOKEN, {"type": "object", "properties": {"resources": _RESOURCES}}],
}

# `next` and `previous` have URL examples and no `nullable`: the Hub does not say they may be null.
GET_ORG_ACCESS_TOKENS_RESPONSE: Schema = {
    "type": "object",
    "properties": {
        "total": {"type": "number"},
        "next": STRING,
        "previous": STRING,
        "results": {"type": "array", "items": ORG_ACCESS_TOKEN},
    },
}

# Published with `required: true` on `label`.
CREATE_ORG_ACCESS_TOKEN_REQUEST: Schema = {
    "type": "object",
    "required": ["label"],
    "properties": {
        "label": STRING,
        "description": STRING,
        "resources": _RESOURCES,
        "expires_at": {**DATE_TIME, "nullable": True},
    },
}

UPDATE_ORG_ACCESS_TOKEN_REQUEST: Schema = {
    "type": "object",
    "properties": {
        "label": STRING,
        "description": STRING,
        "resources": _RESOURCES,
        "is_active": {"type": "boolean"},
    },
}

USER: Schema = {
    "type": "object",
    "properties": {
        "id": STRING,
        "company": STRING,
        "date_joined": STRING,
        "full_name": STRING,
        "gravatar_email": STRING,
        "gravatar_url": STRING,
        "location": STRING,
        "profile_url": STRING,
        "type": {"type": "string", "enum": ["User", "Org"]},
        "username": STRING,
    },
}

# Published as `allOf: [user]` with these `properties` beside it.
ORG_MEMBER: Schema = {
    "allOf": [
        USER,
        {
            "properties": {
                "email": STRING,
                "role": {"type": "string", "enum": ["Owner", "Member", "Invitee"]},
                "groups": {"type": "array", "items": STRING},
                "is_guest": {"type": "boolean"},
                "primary_email": STRING,  # deprecated: true
                # Only for organizations with insights enabled.
                "last_logged_in_at": DATE_TIME,
                "last_seen_at": DATE_TIME,
                "last_desktop_version": STRING,
            },
        },
    ],
}

# The Hub documents the 200 of `GET /v2/orgs/{org_name}/members` as an *array* of these; its
# `next` and `previous` have URL examples and no `nullable`.
ORG_MEMBER_PAGINATED: Schema = {
    "type": "object",
    "properties": {
        "count": {"type": "number"},
        "previous": STRING,
        "next": STRING,
        "results": {"type": "array", "items": ORG_MEMBER},
    },
}

# The inline request body of `PUT /v2/orgs/{org_name}/members/{username}`.
UPDATE_ORG_MEMBER_REQUEST: Schema = {
    "required": ["role"],
    "properties": {"role": {"type": "string", "enum": ["owner", "editor", "member"]}},
}

ORG_GROUP: Schema = {
    "type": "object",
    "properties": {
        "id": {"type": "number"},
        "uuid": STRING,
        "name": STRING,
        "description": STRING,
        "member_count": {"type": "number"},
    },
}

# The inline 200 body of `GET /v2/orgs/{org_name}/groups`.
GET_ORG_GROUPS_RESPONSE: Schema = {
    "properties": {
        "count": {"type": "number"},
        "next": {"type": "string", "example": None},
        "previous": {"type": "string", "example": None},
        "results": {"type": "array", "items": ORG_GROUP},
    },
}

# The inline request bodies of `POST /v2/orgs/{org_name}/groups` (name required) and
# `PATCH /v2/orgs/{org_name}/groups/{group_name}` (nothing required).
CREATE_ORG_GROUP_REQUEST: Schema = {
    "required": ["name"],
    "properties": {"name": STRING, "description": STRING},
}
UPDATE_ORG_GROUP_REQUEST: Schema = {"properties": {"name": STRING, "description": STRING}}

GROUP_MEMBER: Schema = {
    "type": "object",
    "properties": {
        "id": STRING,
        "company": STRING,
        "date_joined": DATE_TIME,
        "full_name": STRING,
        "gravatar_email": STRING,
        "gravatar_url": STRING,
        "location": STRING,
        "profile_url": STRING,
        "type": {"type": "string", "enum": ["User", "Org"]},
        "username": STRING,
        "email": STRING,
    },
}

# The inline 200 body of `GET /v2/orgs/{org_name}/groups/{group_name}/members`.
GET_GROUP_MEMBERS_RESPONSE: Schema = {
    "properties": {
        "count": {"type": "number"},
        "next": {"type": "string", "example": None},
        "previous": {"type": "string", "example": None},
        "results": {"type": "array", "items": GROUP_MEMBER},
    },
}

# components/requestBodies add_member_to_org_group (its schema).
ADD_MEMBER_TO_ORG_GROUP: Schema = {
    "type": "object",
    "required": ["member"],
    "properties": {"member": STRING},
}
