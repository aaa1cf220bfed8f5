"""User accounts: names valid as registry namespaces, passwords hashed with argon2id."""

from __future__ import annotations

from regauth.domain import usernames
from regauth.domain.clock import Clock
from regauth.domain.models import Actor, User
from regauth.errors import BadRequest, NotFoundInStore
from regauth.services.audit import AuditLog
from regauth.services.passwords import MAX_PASSWORD_LENGTH, hash_password
from regauth.services.transactions import transactional
from regauth.store.base import Store

MIN_PASSWORD_LENGTH = 8


def validate_username(name: str) -> str:
    if not usernames.is_valid(name):
        raise BadRequest(
            "username must be 2-64 characters of a-z, 0-9 and single '.', '_' or '-' between them"
        )
    return name


def _password_hash(password: str) -> str:
    if not MIN_PASSWORD_LENGTH <= len(password) <= MAX_PASSWORD_LENGTH:
        raise BadRequest(f"password must be {MIN_PASSWORD_LENGTH}-{MAX_PASSWORD_LENGTH} characters")
    return hash_password(password)


class UserService:
    def __init__(self, store: Store, audit: AuditLog, *, clock: Clock) -> None:
        self._store = store
        self._audit = audit
        self._clock = clock

    def create(
        self, name: str, password: str | None, actor: Actor, *, is_admin: bool = False
    ) -> User:
        validate_username(name)
        # Hashed before the transaction: ~0.1 s of argon2id must not hold the write lock.
        password_hash = _password_hash(password) if password is not None else None
        with self._store.transaction():
            user = self._store.create_user(
                name, password_hash, is_admin=is_admin, now=int(self._clock())
            )
            self._audit.record(actor, "user.create", name, admin=is_admin)
        return user

    def get(self, name: str) -> User:
        user = self._store.get_user(name)
        if user is None:
            raise NotFoundInStore(f"no such user: {name!r}")
        return user

    def list(self) -> list[User]:
        return self._store.list_users()

    @transactional
    def set_disabled(self, name: str, actor: Actor, disabled: bool) -> User:
        self.get(name)
        user = self._updated(self._store.update_user(name, disabled=disabled))
        if disabled:
            # A disabled account is signed out at once (the page's sessions and the API's),
            # and stays signed out when it is enabled again.
            ended = self._store.end_sessions(user.id)
            self._audit.record(actor, "user.disable", name, web_sessions_ended=ended)
        else:
            self._audit.record(actor, "user.enable", name)
        return user

    @transactional
    def set_admin(self, name: str, actor: Actor, is_admin: bool) -> User:
        self.get(name)
        user = self._updated(self._store.update_user(name, is_admin=is_admin))
        self._audit.record(actor, "user.grant_admin" if is_admin else "user.revoke_admin", name)
        return user

    def reset_password(self, name: str, actor: Actor, password: str) -> User:
        self.get(name)
        password_hash = _password_hash(password)  # before the transaction, as in create()
        with self._store.transaction():
            user = self._updated(self._store.update_user(name, password_hash=password_hash))
            # Sessions started with the old password end with it (docker's, the API's and the
            # web page's; a page that changed its own password starts a new one); personal
            # tokens stay.
            ended = self._store.delete_auto_tokens(user.id)
            web_ended = self._store.end_sessions(user.id)
            self._audit.record(
                actor,
                "user.password_reset",
                name,
                session_tokens_ended=ended,
                web_sessions_ended=web_ended,
            )
        return user

    @staticmethod
    def _updated(user: User | None) -> User:
        if user is None:
            raise NotFoundInStore("no such user")
        return user
