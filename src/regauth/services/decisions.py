"""Authorization with its facts: policy.decide fed from the store, reading only what matters."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Protocol

from regauth.domain import policy
from regauth.domain.models import OrgMembership, Principal
from regauth.domain.scopes import Scope
from regauth.metrics.counts import Metrics
from regauth.services.cache import VersionedCache
from regauth.store.base import Database, OrgStore, RepositoryStore


class DecisionStore(Database, RepositoryStore, OrgStore, Protocol):
    """What a decision reads beyond the principal: visibility and organization membership."""


def decide_with_store(
    store: DecisionStore, principal: Principal, scopes: Sequence[Scope]
) -> policy.Decision:
    """Visibility only beyond the caller's own namespace, memberships only for other namespaces:
    a request for one's own repositories costs no extra query (the /token hot path)."""
    looked_up = policy.repositories_needing_visibility(principal, scopes)
    public = store.public_repositories(looked_up) if looked_up else frozenset()
    namespaces = policy.namespaces_needing_membership(principal, scopes)
    orgs = store.org_context(principal.name, namespaces) if namespaces else {}
    return policy.decide(principal, scopes, public, orgs)


class Authorizer:
    """decide_with_store for /token: the facts it read are cached until data changes, so a
    repeated pull of another namespace's repository costs no query and no thread."""

    def __init__(self, store: DecisionStore, *, metrics: Metrics | None = None) -> None:
        self._store = store
        metrics = metrics or Metrics()
        self._public: VersionedCache[frozenset[str], frozenset[str]] = VersionedCache(
            store, stats=metrics.cache("repository_visibility")
        )
        self._orgs: VersionedCache[tuple[str, frozenset[str]], dict[str, OrgMembership]] = (
            VersionedCache(store, stats=metrics.cache("org_membership"))
        )

    async def decide(self, principal: Principal, scopes: Sequence[Scope]) -> policy.Decision:
        public: frozenset[str] = frozenset()
        # Usually empty (a request for one's own repositories): then no set is built.
        if names := policy.repositories_needing_visibility(principal, scopes):
            looked_up = frozenset(names)
            cached = self._public.get(looked_up)
            if cached is None:
                version = self._public.version()
                cached = await self._store.run(self._store.public_repositories, looked_up)
                self._public.put(looked_up, cached, version)
            public = cached
        orgs: dict[str, OrgMembership] = {}
        if spaces := policy.namespaces_needing_membership(principal, scopes):
            namespaces = frozenset(spaces)
            key = (principal.name, namespaces)
            found = self._orgs.get(key)
            if found is None:
                version = self._orgs.version()
                found = await self._store.run(self._store.org_context, principal.name, namespaces)
                self._orgs.put(key, found, version)
            orgs = found
        return policy.decide(principal, scopes, public, orgs)
