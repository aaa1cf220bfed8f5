"""SCIM's message shapes (RFC 7644): the error, the list response, the PATCH and search
requests, the service provider's configuration. Users, Groups, Schemas and ResourceTypes
are schema-driven JSON objects (regauth.domain.scim), not fixed models."""

from __future__ import annotations

from typing import Any

import msgspec
from msgspec import UNSET, UnsetType, field

from regauth.domain.scim.core import ERROR, LIST_RESPONSE, SERVICE_PROVIDER_CONFIG
from regauth.services.scim.listing import MAX_COUNT


class ScimError(msgspec.Struct, omit_defaults=True):
    """RFC 7644 §3.12: `status` is the HTTP status as a string."""

    status: str
    detail: str
    scimType: str | UnsetType = UNSET
    schemas: list[str] = field(default_factory=lambda: [ERROR])


class ListResponse(msgspec.Struct):
    totalResults: int
    startIndex: int
    itemsPerPage: int
    Resources: list[dict[str, Any]]
    schemas: list[str] = field(default_factory=lambda: [LIST_RESPONSE])


class PatchOperation(msgspec.Struct):
    op: str
    path: str | None = None
    value: Any = None


class PatchRequest(msgspec.Struct):
    Operations: list[PatchOperation]
    schemas: list[str] = field(default_factory=list)


class SearchRequest(msgspec.Struct):
    """POST .../.search: the query parameters of a list, in a body (RFC 7644 §3.4.3)."""

    schemas: list[str] = field(default_factory=list)
    filter: str | None = None
    startIndex: int = 1
    count: int | None = None
    attributes: list[str] | None = None
    excludedAttributes: list[str] | None = None
    sortBy: str | None = None
    sortOrder: str | None = None


class Supported(msgspec.Struct):
    supported: bool


class FilterSupport(msgspec.Struct):
    supported: bool
    maxResults: int


class BulkSupport(msgspec.Struct):
    supported: bool
    maxOperations: int
    maxPayloadSize: int


class AuthenticationScheme(msgspec.Struct):
    type: str
    name: str
    description: str
    primary: bool


class Meta(msgspec.Struct):
    resourceType: str
    location: str


class ServiceProviderConfig(msgspec.Struct):
    documentationUri: str
    patch: Supported
    bulk: BulkSupport
    filter: FilterSupport
    changePassword: Supported
    sort: Supported
    etag: Supported
    authenticationSchemes: list[AuthenticationScheme]
    meta: Meta
    schemas: list[str] = field(default_factory=lambda: [SERVICE_PROVIDER_CONFIG])

    @classmethod
    def of(cls, base_url: str) -> ServiceProviderConfig:
        return cls(
            documentationUri="https://datatracker.ietf.org/doc/html/rfc7644",
            patch=Supported(True),
            bulk=BulkSupport(False, 0, 0),
            filter=FilterSupport(True, MAX_COUNT),
            changePassword=Supported(False),  # no password: the identity provider signs in
            sort=Supported(False),
            etag=Supported(False),  # meta.version is served; If-Match is not checked
            authenticationSchemes=[
                AuthenticationScheme(
                    "oauthbearertoken",
                    "OAuth Bearer Token",
                    "A SCIM key made by `regauth admin-key create --scim`, sent as "
                    "Authorization: Bearer <key>",
                    True,
                )
            ],
            meta=Meta("ServiceProviderConfig", f"{base_url}/ServiceProviderConfig"),
        )
