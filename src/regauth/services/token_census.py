"""How many credentials are stored, by kind and state: the `regauth_tokens` gauge of /metrics,
counted in a store thread and kept for a few seconds, so scrapes never load the database."""

from __future__ import annotations

from typing import Protocol

from regauth.domain.clock import Clock
from regauth.domain.models import TokenQuery, TokenState, token_state
from regauth.store.base import AdminKeyStore, Database, OrgStore, OrgTokenStore, TokenStore

CACHE_SECONDS = 10.0
_PAGE = 1000
KINDS = ("personal", "session", "organization")
STATES = tuple(state.value for state in TokenState)


class CensusStore(Database, TokenStore, OrgStore, OrgTokenStore, AdminKeyStore, Protocol):
    """Every kind of credential."""


class TokenCensus:
    def __init__(self, store: CensusStore, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock
        self._counts: dict[tuple[str, str], int] | None = None
        self._counted_at = 0.0

    async def current(self) -> dict[tuple[str, str], int]:
        """The counts, at most CACHE_SECONDS old (Prometheus scrapes every 15-60 s)."""
        if self._counts is None or self._clock() - self._counted_at >= CACHE_SECONDS:
            self._counts = await self._store.run(self.count)
            self._counted_at = self._clock()
        return self._counts

    def count(self) -> dict[tuple[str, str], int]:
        """(kind, state) -> how many; every pair present, zeros too. In a store thread."""
        now = int(self._clock())
        counts = {(kind, state): 0 for kind in KINDS for state in STATES}
        offset = 0
        while True:  # in pages: the store has no count query, and a listing is bounded
            page = self._store.search_tokens(TokenQuery(limit=_PAGE, offset=offset), now=now)
            for token in page:
                kind = "personal" if token.generated_by == "manual" else "session"
                counts[kind, token_state(token, now).value] += 1
            if len(page) < _PAGE:
                break
            offset += _PAGE
        for org in self._store.list_orgs():
            for org_token in self._store.list_org_tokens(org.id):
                counts["organization", token_state(org_token, now).value] += 1
        counts["admin_key", "active"] = counts["admin_key", "revoked"] = 0
        for key in self._store.list_admin_keys():
            counts["admin_key", "revoked" if key.revoked_at is not None else "active"] += 1
        return counts
