"""Explain: for a user or a token and a scope, what would be granted and why the rest would not."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.domain import policy
from regauth.domain.scopes import RejectedScope, Scope, parse_scopes
from regauth.domain.tokens import TokenKind
from regauth.errors import NotFoundInStore
from regauth.services.authentication import Authenticator, Resolved
from regauth.services.decisions import decide_with_store
from regauth.store.base import Store

_SUBJECTS = {
    None: "user {name}",
    TokenKind.PERSONAL: "token {id} of {name}",
    TokenKind.SESSION: "session token {id} of {name}",
    TokenKind.ORGANIZATION: "organization token {id} of {name}",
    TokenKind.ADMIN_KEY: "admin API key {id}",
}


@dataclass(frozen=True, slots=True)
class Explanation:
    subject: str
    # Why the credential itself is refused (inactive, expired, disabled), or None if usable.
    credential_refusal: str | None
    decision: policy.Decision
    rejected: tuple[RejectedScope, ...]
    # A network-bound credential's networks (/token refuses it from elsewhere); None: anywhere.
    allowed_from: tuple[str, ...] | None = None


class ExplainService:
    """The principal and the refusal come from the Authenticator, as at /token, so that the
    explanation cannot drift from what /token does with the same credential."""

    def __init__(self, store: Store, authenticator: Authenticator) -> None:
        self._store = store
        self._authenticator = authenticator

    def for_user(self, name: str, scope: str) -> Explanation:
        resolved = self._authenticator.resolve_user(name)
        if resolved is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        return self._explain(resolved, scope)

    def for_token(self, token_id: str, scope: str) -> Explanation:
        """A token of any kind (personal, session, organization; an admin API key is
        explained as refused) by its public id or UUID."""
        resolved = self._authenticator.resolve_token(token_id)
        if resolved is None:
            raise NotFoundInStore(f"no such token: {token_id!r}")
        return self._explain(resolved, scope)

    def _explain(self, resolved: Resolved, scope: str) -> Explanation:
        principal, refusal = resolved.principal, resolved.refusal
        name = principal.name if principal is not None else ""
        subject = _SUBJECTS[resolved.kind].format(id=resolved.id, name=name)
        scopes, rejected = parse_scopes([scope])
        if principal is None:
            assert refusal is not None  # only a credential /token refuses outright has none
            decision = policy.Decision((), _deny_all(scopes, refusal))
        else:
            decision = decide_with_store(self._store, principal, scopes)
            if refusal is not None:
                # The credential would be refused at /token before any scope is looked at;
                # what it would get otherwise is shown refused for that reason.
                denied = tuple(
                    policy.Denial(g.type, g.name, a, refusal)
                    for g in decision.granted
                    for a in g.actions
                )
                decision = policy.Decision((), denied + decision.denied)
        networks = principal.networks if principal is not None else None
        allowed_from = None if networks is None else tuple(map(str, networks))
        return Explanation(subject, refusal, decision, tuple(rejected), allowed_from)


def _deny_all(scopes: list[Scope], reason: str) -> tuple[policy.Denial, ...]:
    return tuple(
        policy.Denial(s.type, s.name, action, reason)
        for s in scopes
        for action in sorted(s.actions)
    )
