"""Repositories regauth knows about: their visibility (private unless made public)."""

from __future__ import annotations

from regauth.domain.clock import Clock
from regauth.domain.models import Actor, Repository, Visibility
from regauth.domain.scopes import is_repository_name
from regauth.errors import BadRequest
from regauth.services.audit import AuditLog
from regauth.services.transactions import transactional
from regauth.store.base import Store


class RepositoryService:
    def __init__(self, store: Store, audit: AuditLog, *, clock: Clock) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    @transactional
    def set_visibility(self, name: str, visibility: Visibility, actor: Actor) -> Repository:
        if not is_repository_name(name) or "/" not in name:
            raise BadRequest("repository must be a path like 'namespace/name'")
        repository = self._store.set_visibility(name, visibility, now=int(self._clock()))
        self._audit.record(actor, "repository.visibility", name, visibility=visibility.value)
        return repository

    def list(self) -> list[Repository]:
        return self._store.list_repositories()

    def push_ever_granted(self, name: str) -> bool:
        """Whether regauth ever issued a token that may push to `name` (the repository exists
        once someone has pushed it; regauth cannot see the registry itself)."""
        return self._store.push_ever_granted(name)
