"""What a SCIM list answers: the resources a filter matches, one page of them (RFC 7644
§3.4.2). Filters are evaluated on the resources as served, so any attribute can be
filtered on and none reaches SQL."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from regauth.domain.scim import filters
from regauth.domain.scim.schemas import ResourceType
from regauth.domain.timefmt import rfc3339

DEFAULT_COUNT = 100
MAX_COUNT = 1000  # ServiceProviderConfig's filter.maxResults


@dataclass(frozen=True, slots=True)
class Page:
    total: int
    start_index: int
    resources: list[dict[str, Any]]


def page(
    kind: ResourceType,
    resources: Iterable[dict[str, Any]],
    filter_text: str | None,
    start_index: int,
    count: int | None,
) -> Page:
    """`start_index` from 1 (lower is 1); `count` at most MAX_COUNT (0: only the total)."""
    tree = filters.parse_filter(filter_text) if filter_text is not None else None
    matched = [r for r in resources if tree is None or filters.evaluate(tree, r, kind.case_exact)]
    start = max(1, start_index)
    size = DEFAULT_COUNT if count is None else min(max(0, count), MAX_COUNT)
    return Page(len(matched), start, matched[start - 1 : start - 1 + size])


def meta(
    resource_type: str, location: str, created_at: int, updated_at: int, body: dict[str, Any]
) -> dict[str, Any]:
    """`meta`, with a version that changes whenever what is served does (a weak ETag)."""
    digest = hashlib.sha256(json.dumps(body, sort_keys=True).encode()).hexdigest()[:20]
    return {
        "resourceType": resource_type,
        "created": rfc3339(created_at),
        "lastModified": rfc3339(updated_at),
        "location": location,
        "version": f'W/"{digest}"',
    }
