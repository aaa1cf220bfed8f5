"""SCIM discovery (RFC 7644 §4): what this service provider supports, its schemas and its
resource types, each also by its id."""

from __future__ import annotations

from typing import Any

from regauth.domain.scim.core import LIST_RESPONSE, RESOURCE_TYPES, SCHEMAS
from regauth.errors import NotFound
from regauth.http.models.scim import ServiceProviderConfig
from regauth.http.scim import Answer, ScimRequest
from regauth.services.scim.users import base_url


async def service_provider_config(scim: ScimRequest) -> Answer:
    return Answer(ServiceProviderConfig.of(base_url(scim.runtime.settings)))


async def schemas(scim: ScimRequest) -> Answer:
    base = base_url(scim.runtime.settings)
    return Answer(_list([s.document(base) for s in SCHEMAS]))


async def schema(scim: ScimRequest) -> Answer:
    base = base_url(scim.runtime.settings)
    found = next((s for s in SCHEMAS if s.id.casefold() == scim.id.casefold()), None)
    if found is None:
        raise NotFound(f"no schema {scim.id[:100]!r}")
    return Answer(found.document(base))


async def resource_types(scim: ScimRequest) -> Answer:
    base = base_url(scim.runtime.settings)
    return Answer(_list([t.document(base) for t in RESOURCE_TYPES]))


async def resource_type(scim: ScimRequest) -> Answer:
    base = base_url(scim.runtime.settings)
    found = next((t for t in RESOURCE_TYPES if t.name.casefold() == scim.id.casefold()), None)
    if found is None:
        raise NotFound(f"no resource type {scim.id[:100]!r}")
    return Answer(found.document(base))


def _list(items: list[dict[str, Any]]) -> dict[str, Any]:
    # Not a ListResponse model: these lists are always whole, and small.
    return {
        "schemas": [LIST_RESPONSE],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }
