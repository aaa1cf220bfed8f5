"""Password sign-in through the company directory ([ldap]): which names it checks, the bind in
threads of its own (never on the event loop), successes remembered as local passwords are, and
the account it vouched for made or brought up to date by provisioning."""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Awaitable, Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import TYPE_CHECKING

from regauth import logs
from regauth.config import LiveConfig
from regauth.domain.credentials import Credentials
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.domain.models import User
from regauth.errors import ConfigError, DirectoryUnavailable, Unauthorized
from regauth.services.passwords import PasswordChecker
from regauth.services.provisioning import Provisioning
from regauth.store.base import IdentityStore

if TYPE_CHECKING:
    from regauth.sso.ldap import Directory

log = logging.getLogger("regauth.directory")
INCORRECT = "incorrect username or password"
# Binds at once per worker. Each waits on the network, not the CPU; a hung directory holds
# one for at most [ldap] timeout_seconds.
THREADS = 4


@dataclass(frozen=True, slots=True)
class Claim:
    """The directory checks this sign-in's password. `marker`: what a success is remembered
    under (the account's LDAP link, so an account unlinked meanwhile misses); None: nothing
    is remembered (no account is linked to the directory under this name yet)."""

    marker: str | None


class DirectorySignIn:
    """The directory `[ldap]` describes now: rebuilt when a reload changes the section."""

    def __init__(
        self,
        settings: LiveConfig,
        store: IdentityStore,
        passwords: PasswordChecker,
        provisioning: Provisioning,
        directory: Directory | None = None,
    ) -> None:
        self._settings = settings
        self._store = store
        self._passwords = passwords
        self._provisioning = provisioning
        self._lock = threading.Lock()
        # The one start-up built (its files read then); another after a reload changes [ldap].
        self._directory = directory
        self._pool = ThreadPoolExecutor(THREADS, thread_name_prefix="ldap")

    def claim(self, user: User | None) -> Claim | None:
        """Runs in a store thread. A local account with a password of its own and no link to
        the directory keeps that password (None); with [ldap], any other name is the
        directory's: no account yet, one without a password, one linked to the directory."""
        if not self._settings.current.ldap.url:
            return None
        if user is None:
            return Claim(None)
        linked = user.linked and any(
            link.source == IdentitySource.LDAP.value for link in self._store.identities_of(user.id)
        )
        if linked:
            return Claim(_marker(user))
        return Claim(None) if user.password_hash is None else None

    async def check(
        self,
        credentials: Credentials,
        user: User | None,
        claim: Claim,
        reserve: Callable[[], Awaitable[None]],
        ip: str | None,
        user_agent: str | None,
    ) -> User:
        """The account the directory's bind vouches for, or 401. A success is remembered as a
        local password's is (keyed hash, [auth] password_cache_seconds), so a pull storm is
        not a bind storm; a remembered one costs no bind and no provisioning write.

        DirectoryUnavailable (503) when the directory cannot say; provisioning's refusals as
        they are (a name a local account holds: 409, a disabled account: 401)."""
        username, password = credentials.username, credentials.secret
        if claim.marker is not None and self._passwords.remembered(
            username, password, claim.marker
        ):
            assert user is not None
            return user
        await reserve()  # counted against the throttle before the bind, as before a hash
        loop = asyncio.get_running_loop()
        identity = await loop.run_in_executor(self._pool, self._bind, username, password)
        if identity is None:
            refused = Unauthorized(INCORRECT)
            raise refused.of_an_account() if user is not None else refused
        signed_in = await self._provisioning.sign_in(identity, ip, user_agent)
        if signed_in.name == username:
            # Remembered under the name it is asked for by: a name the account is not called
            # (the e-mail address it was derived from) binds each time.
            self._passwords.remember(username, password, _marker(signed_in))
        return signed_in

    def _bind(self, username: str, password: str) -> ExternalIdentity | None:
        return self._current().authenticate(username, password)

    def _current(self) -> Directory:
        config = self._settings.current.ldap
        with self._lock:
            if self._directory is None or self._directory.config != config:
                from regauth.sso.ldap import Directory  # ldap3 only with [ldap]

                try:
                    self._directory = Directory(config)
                except ConfigError as exc:
                    # A reload named a file that cannot be read: sign-ins wait for a fix.
                    logs.event(log, logging.ERROR, "ldap_config_unusable", error=exc.message)
                    raise DirectoryUnavailable() from None
            return self._directory


def _marker(user: User) -> str:
    # Never an argon2 hash ("$argon2id$..."): a directory success cannot pass for a local one.
    return f"ldap:{user.id}"
