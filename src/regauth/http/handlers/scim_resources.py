"""SCIM Users and Groups (RFC 7644 §3): list, search, get, create, replace, patch, delete.
Both resource types answer alike, so one set of handlers serves each, over its service."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol

from regauth.domain.models import Actor
from regauth.domain.scim import resources
from regauth.domain.scim.patch import Operation
from regauth.domain.scim.schemas import ResourceType
from regauth.http.models.scim import ListResponse, PatchRequest, SearchRequest
from regauth.http.scim import Answer, ScimRequest
from regauth.runtime import Runtime
from regauth.services.scim.listing import Page


class Service(Protocol):
    def find(self, filter_text: str | None, start_index: int, count: int | None) -> Page: ...

    def get(self, resource_id: str, /) -> dict[str, Any]: ...

    def create(self, body: dict[str, Any], actor: Actor, /) -> dict[str, Any]: ...

    def replace(
        self, resource_id: str, body: dict[str, Any], actor: Actor, /
    ) -> dict[str, Any]: ...

    def patch(
        self, resource_id: str, operations: Sequence[Operation], actor: Actor, /
    ) -> dict[str, Any]: ...

    def delete(self, resource_id: str, actor: Actor, /) -> None: ...


@dataclass(frozen=True, slots=True)
class Resources:
    """The handlers of one resource type (`kind`), over the service `of` finds."""

    kind: ResourceType
    of: Callable[[Runtime], Service]

    async def listing(self, scim: ScimRequest) -> Answer:
        page = await scim.call(
            self.of(scim.runtime).find,
            scim.query("filter"),
            scim.index("startIndex") or 1,
            scim.index("count"),
        )
        return Answer(self._listing(scim, page))

    async def search(self, scim: ScimRequest) -> Answer:
        query = await scim.model(SearchRequest)
        page = await scim.call(
            self.of(scim.runtime).find, query.filter, query.startIndex, query.count
        )
        return Answer(self._listing(scim, page, query.attributes, query.excludedAttributes))

    async def get(self, scim: ScimRequest) -> Answer:
        found = await scim.call(self.of(scim.runtime).get, scim.id)
        return Answer(scim.projected(self.kind, found))

    async def create(self, scim: ScimRequest) -> Answer:
        body = await scim.body()
        made = await scim.call(self.of(scim.runtime).create, body, scim.actor)
        return Answer(scim.projected(self.kind, made), 201)

    async def replace(self, scim: ScimRequest) -> Answer:
        body = await scim.body()
        done = await scim.call(self.of(scim.runtime).replace, scim.id, body, scim.actor)
        return Answer(scim.projected(self.kind, done))

    async def patch(self, scim: ScimRequest) -> Answer:
        request = await scim.model(PatchRequest)
        operations = [Operation(o.op, o.path, o.value) for o in request.Operations]
        done = await scim.call(self.of(scim.runtime).patch, scim.id, operations, scim.actor)
        return Answer(scim.projected(self.kind, done))

    async def delete(self, scim: ScimRequest) -> Answer:
        await scim.call(self.of(scim.runtime).delete, scim.id, scim.actor)
        return Answer(None, 204)

    def _listing(
        self,
        scim: ScimRequest,
        page: Page,
        attributes: list[str] | None = None,
        excluded: list[str] | None = None,
    ) -> ListResponse:
        if attributes is None and excluded is None:
            found = [scim.projected(self.kind, r) for r in page.resources]
        else:
            include = resources.selection(self.kind, ",".join(attributes or []))
            exclude = resources.selection(self.kind, ",".join(excluded or []))
            found = [
                resources.project(r, self.kind, include, None if include else exclude)
                for r in page.resources
            ]
        return ListResponse(
            totalResults=page.total,
            startIndex=page.start_index,
            itemsPerPage=len(found),
            Resources=found,
        )
