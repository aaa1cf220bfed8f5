"""/scim/v2's route table (RFC 7644 §3.2): the Users and Groups endpoints, discovery, and the
optional endpoints regauth does not offer (501)."""

from __future__ import annotations

from regauth.domain.scim.core import GROUPS, USERS
from regauth.http.handlers import scim_discovery as discovery
from regauth.http.handlers.scim_resources import Resources
from regauth.http.scim import ScimRoute, not_implemented

_USERS = Resources(USERS, lambda runtime: runtime.scim.users)
_GROUPS = Resources(GROUPS, lambda runtime: runtime.scim.groups)


def _resource_routes(endpoint: str, resources: Resources) -> tuple[ScimRoute, ...]:
    # `.search` before `{id}`: aiohttp tries the resources in the order they were added.
    return (
        ScimRoute("GET", endpoint, resources.listing),
        ScimRoute("POST", endpoint, resources.create),
        ScimRoute("POST", f"{endpoint}/.search", resources.search),
        ScimRoute("GET", f"{endpoint}/{{id}}", resources.get),
        ScimRoute("PUT", f"{endpoint}/{{id}}", resources.replace),
        ScimRoute("PATCH", f"{endpoint}/{{id}}", resources.patch),
        ScimRoute("DELETE", f"{endpoint}/{{id}}", resources.delete),
    )


SCIM_ROUTES: tuple[ScimRoute, ...] = (
    *_resource_routes(USERS.endpoint, _USERS),
    *_resource_routes(GROUPS.endpoint, _GROUPS),
    ScimRoute("GET", "/ServiceProviderConfig", discovery.service_provider_config),
    ScimRoute("GET", "/Schemas", discovery.schemas),
    ScimRoute("GET", "/Schemas/{id}", discovery.schema),
    ScimRoute("GET", "/ResourceTypes", discovery.resource_types),
    ScimRoute("GET", "/ResourceTypes/{id}", discovery.resource_type),
    # Searching every resource type at once, bulk operations and /Me (the caller is a key,
    # not a user): optional, not offered (§3.4.3, §3.7, §3.11).
    ScimRoute("POST", "/.search", not_implemented),
    ScimRoute("POST", "/Bulk", not_implemented),
    *(ScimRoute(m, "/Me", not_implemented) for m in ("GET", "PUT", "PATCH", "DELETE", "POST")),
)
