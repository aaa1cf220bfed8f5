"""Explain: for a user or a token and a scope, what would be granted and why the rest would not."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain import policy
from regauth.domain.clock import Clock
from regauth.domain.models import Principal, TokenState, token_state
from regauth.domain.scopes import RejectedScope, parse_scopes
from regauth.errors import NotFoundInStore
from regauth.services.decisions import decide_with_store
from regauth.store.base import Store


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: str
    # Why the credential itself is refused (inactive, expired, disabled), or None if usable.
    credential_refusal: str | None
    decision: policy.Decision
    rejected: tuple[RejectedScope, ...]


class ExplainService:
    def __init__(self, store: Store, *, clock: Clock) -> None:
        self._store = store
        self._clock = clock

    def for_user(self, name: str, scope: str) -> Explanation:
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        principal = Principal(name=user.name, is_admin=user.is_admin)
        refusal = "account is disabled" if user.disabled else None
        return self._explain(f"user {user.name}", principal, scope, refusal)

    def for_token(self, token_id: str, scope: str) -> Explanation:
        record = self._store.get_token(token_id) or self._store.get_token_by_uuid(token_id)
        if record is None:
            raise NotFoundInStore(f"no such token: {token_id!r}")
        owner = self._store.get_user(record.owner_name)
        state = token_state(record, self._clock())
        refusal = {
            TokenState.EXPIRED: "personal access token has expired",
            TokenState.INACTIVE: "personal access token is inactive",
            TokenState.ACTIVE: None,
        }[state]
        if owner is not None and owner.disabled:
            refusal = "account is disabled"
        principal = Principal(
            name=record.owner_name,
            is_admin=owner.is_admin if owner else False,
            token_id=record.id,
            access=record.access,
        )
        return self._explain(f"token {record.id} of {record.owner_name}", principal, scope, refusal)

    def _explain(
        self, subject: str, principal: Principal, scope: str, refusal: str | None
    ) -> Explanation:
        scopes, rejected = parse_scopes([scope])
        decision = decide_with_store(self._store, principal, scopes)
        if refusal is not None:
            # The credential would be refused at /token before any scope is looked at.
            denied = tuple(
                policy.Denial(g.type, g.name, a, refusal)
                for g in decision.granted
                for a in g.actions
            )
            decision = policy.Decision((), denied + decision.denied)
        return Explanation(subject, refusal, decision, tuple(rejected))
