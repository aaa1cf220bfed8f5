"""Authorization with its facts: policy.decide fed from the store, reading only what matters."""

from __future__ import annotations

from collections.abc import Sequence

from regauth.domain import policy
from regauth.domain.models import Principal
from regauth.domain.scopes import Scope
from regauth.store.base import Store


def decide_with_store(
    store: Store, principal: Principal, scopes: Sequence[Scope]
) -> policy.Decision:
    """Visibility only beyond the caller's own namespace, memberships only for other namespaces:
    a request for one's own repositories costs no extra query (the /token hot path)."""
    looked_up = policy.repositories_needing_visibility(principal, scopes)
    public = store.public_repositories(looked_up) if looked_up else frozenset()
    namespaces = policy.namespaces_needing_membership(principal, scopes)
    orgs = store.org_context(principal.name, namespaces) if namespaces else {}
    return policy.decide(principal, scopes, public, orgs)
