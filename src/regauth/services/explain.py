"""Explain: for a user or a token and a scope, what would be granted and why the rest would not."""

from __future__ import annotations

from dataclasses import dataclass

from regauth.config import LiveConfig
from regauth.domain import policy
from regauth.domain.clock import Clock
from regauth.domain.models import Principal
from regauth.domain.scopes import RejectedScope, Scope, parse_scopes
from regauth.domain.tokens import TokenKind
from regauth.errors import NotFoundInStore
from regauth.services.decisions import decide_with_store
from regauth.services.refusals import (
    NOT_A_REGISTRY_CREDENTIAL,
    org_token_refusal,
    password_refusal,
    token_refusal,
)
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


@dataclass(frozen=True, slots=True)
class Resolved:
    """A credential named without its secret, as /token would take it once the secret matched:
    the principal it would act as, and why /token would refuse it."""

    # The token's kind; None for a user's password.
    kind: TokenKind | None
    # The token's public id, or the user's name.
    id: str
    # None when /token never acts as anyone with it (an admin API key).
    principal: Principal | None
    refusal: str | None


class ExplainService:
    """The principal is built as /token builds it (`Principal.of_*`) and the refusal comes from
    the rules /token applies (refusals.py), so that the explanation cannot drift from what
    /token does with the same credential."""

    def __init__(self, store: Store, *, settings: LiveConfig, clock: Clock) -> None:
        self._store = store
        self._settings = settings
        self._clock = clock

    def for_user(self, name: str, scope: str) -> Explanation:
        """`name` signing in with their password; no password check, throttle or audit."""
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        refusal = password_refusal(user, self._settings.current)
        return self._explain(Resolved(None, user.name, Principal.of_user(user), refusal), scope)

    def for_token(self, token_id: str, scope: str) -> Explanation:
        """A token of any kind (personal, session, organization; an admin API key is
        explained as refused) by its public id or UUID."""
        resolved = self._resolve_token(token_id)
        if resolved is None:
            raise NotFoundInStore(f"no such token: {token_id!r}")
        return self._explain(resolved, scope)

    def _resolve_token(self, token_id: str) -> Resolved | None:
        now = self._clock()
        record = self._store.find_token_for_auth(token_id)
        if record is None:
            by_uuid = self._store.get_token_by_uuid(token_id)
            record = self._store.find_token_for_auth(by_uuid.id) if by_uuid else None
        if record is not None:
            kind = TokenKind.PERSONAL if record.generated_by == "manual" else TokenKind.SESSION
            refusal = token_refusal(record, now)
            return Resolved(kind, record.token_id, Principal.of_token(record), refusal)
        org_token = self._store.get_org_token(token_id)  # by public id or UUID
        if org_token is not None:
            return Resolved(
                TokenKind.ORGANIZATION,
                org_token.id,
                Principal.of_org_token(org_token),
                org_token_refusal(org_token, now),
            )
        admin_key = self._store.get_admin_key(token_id)
        if admin_key is not None:
            # /token refuses the kind before any look-up: it acts as nobody there.
            return Resolved(TokenKind.ADMIN_KEY, admin_key.id, None, NOT_A_REGISTRY_CREDENTIAL)
        return None

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
