"""Admin API keys and SCIM keys: created by the CLI (secret shown once), hashed, revocable, last
use recorded (in the usage batch). A key has one purpose: the admin API or SCIM provisioning."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from regauth.domain.clock import Clock
from regauth.domain.models import Actor, AdminKey, TokenUse
from regauth.domain.networks import allows, not_allowed_from
from regauth.domain.tokens import AccessToken, TokenKind, parse_token, secret_matches
from regauth.errors import NotFoundInStore, Unauthorized
from regauth.services.access_tokens import allowed_networks, lists_in_audit, validate_description
from regauth.services.audit import AuditLog
from regauth.services.guard import SignInGuard
from regauth.services.transactions import transactional
from regauth.services.usage import UsageRecorder
from regauth.store.base import Store

ADMIN, SCIM = "admin", "scim"
PURPOSES = (ADMIN, SCIM)
# What a key of the wrong purpose is told: it holds a valid secret, so saying which kind it is
# gives nothing away, and tells the operator which key to send.
_WRONG_PURPOSE = {
    ADMIN: "a SCIM key does not open the admin API: use an admin API key",
    SCIM: "an admin API key does not open SCIM: make a SCIM key (regauth admin-key create --scim)",
}


@dataclass(frozen=True, slots=True)
class CreatedAdminKey:
    key: AdminKey
    secret: AccessToken


class AdminKeyService:
    def __init__(
        self,
        store: Store,
        audit: AuditLog,
        usage: UsageRecorder,
        *,
        hmac_key: bytes,
        clock: Clock,
        guard: SignInGuard | None = None,
    ) -> None:
        self._store = store
        self._audit = audit
        self._usage = usage
        self._hmac_key = hmac_key
        self._clock = clock
        # The sign-in throttle, which counts a key used from outside its networks.
        self._guard = guard

    @transactional
    def create(
        self,
        description: str,
        actor: Actor,
        *,
        purpose: str = ADMIN,
        allow_from: Sequence[str] | None = None,
    ) -> CreatedAdminKey:
        """`allow_from`: the networks the key may be used from (None: anywhere)."""
        if purpose not in PURPOSES:
            raise ValueError(f"unknown admin key purpose: {purpose!r}")
        networks = allowed_networks(allow_from)
        # The same kind of token (rga_): /token refuses the kind before any look-up, whatever
        # its purpose; the purpose is checked after the secret (authenticate).
        token = AccessToken.generate(TokenKind.ADMIN_KEY)
        key = self._store.create_admin_key(
            token.public_id,
            description=validate_description(description),
            secret_hash=token.secret_hash(self._hmac_key),
            created_by=actor.name,
            now=int(self._clock()),
            purpose=purpose,
            allow_from=networks,
        )
        self._audit.record(
            actor, "admin_key.create", key.id, purpose=purpose, **lists_in_audit(None, networks)
        )
        return CreatedAdminKey(key, token)

    def list(self) -> list[AdminKey]:
        return self._store.list_admin_keys()

    @transactional
    def revoke(self, key_id: str, actor: Actor) -> None:
        if not self._store.revoke_admin_key(key_id, now=int(self._clock())):
            raise NotFoundInStore(f"no such active admin key: {key_id!r}")
        self._audit.record(actor, "admin_key.revoke", key_id)

    def authenticate(
        self,
        value: str,
        ip: str | None,
        *,
        purpose: str = ADMIN,
        user_agent: str | None = None,
    ) -> AdminKey:
        """The key, if `value` is a valid, unrevoked key of `purpose` used from one of its
        networks (if it lists any); else Unauthorized."""
        token = parse_token(value)
        key = self._store.get_admin_key(token.public_id)
        if (
            token.kind is not TokenKind.ADMIN_KEY
            or key is None
            or not secret_matches(self._hmac_key, token.secret, key.secret_hash)
        ):
            raise Unauthorized("invalid admin API key")
        if key.revoked_at is not None:
            raise Unauthorized("admin API key is revoked")
        if key.purpose != purpose:
            raise Unauthorized(_WRONG_PURPOSE[purpose])
        if key.allow_from is not None and not allows(key.allow_from, ip):
            raise self._refused_from(key, ip, user_agent)
        # Written with the usage batch (the table keeps no user agent).
        self._usage.record_admin_key(key.id, TokenUse(int(self._clock()), ip, None))
        return key

    def _refused_from(self, key: AdminKey, ip: str | None, user_agent: str | None) -> Unauthorized:
        """The right key from the wrong network: a failed sign-in of the key's name, counted
        by the throttle (429 once it locks the address out) and audited, as a personal or
        organization token's is."""
        name = f"admin-key:{key.id}"
        refused = Unauthorized(not_allowed_from(ip))
        if self._guard is not None:
            self._guard.check(name, ip)
            self._guard.failed(name, ip)
        # No account has the key's name (the trail keeps it as not one): the reason names it.
        kind = "SCIM key" if key.purpose == SCIM else "admin API key"
        reason = f"{kind} {key.id}: {refused.message}"
        self._audit.failed_authentication(name, ip, user_agent, reason, names_an_account=True)
        return refused
