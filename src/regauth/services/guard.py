"""Sign-in throttling: per (client IP, username) and per client IP, checked before any password work."""

from __future__ import annotations

import unicodedata

from regauth.config import LimitsConfig, LiveConfig
from regauth.domain.clock import Clock
from regauth.errors import TooManyRequests
from regauth.services.throttle import Throttle
from regauth.store.failures import FailureTable, MemoryTable

THROTTLED = "too many failed sign-ins: try again later"
# Clients remembered as free to sign in (below), at most; then forgotten all at once.
_REMEMBERED_CLEAR = 4096


class SignInGuard:
    """Counts failures only: a client that sends no credentials (Docker's first probe) or
    signs in correctly is never slowed down, and other users from other addresses never are.

    The counts live in `table`: a SharedTable beside the database, so all workers on the
    machine count together (replicas on other machines each count their own).
    """

    def __init__(
        self, settings: LiveConfig, *, clock: Clock, table: FailureTable | None = None
    ) -> None:
        # One table for both: a pair's key ("ip\0user") never equals an address's ("ip").
        self._table = table if table is not None else MemoryTable()
        self._settings = settings
        self._clock = clock
        self._limits = settings.current.limits
        self._per_user_ip, self._per_ip = self._throttles(self._limits)
        # Clients whose check found no wait and no count of their own to reset, while the
        # table's version read `_clear_version`. Once anyone has failed, every sign-in would
        # otherwise decode its address's entry and compute a wait that nothing has changed
        # (a failure from the same address made every later success ~11 % dearer for an hour).
        self._clear: set[tuple[str, str | None]] = set()
        self._clear_version: object | None = None

    def _throttles(self, limits: LimitsConfig) -> tuple[Throttle, Throttle]:
        per_user_ip = Throttle(
            clock=self._clock,
            free_failures=limits.failures_per_user_ip,
            max_lockout=limits.lockout_max_seconds,
            table=self._table,
        )
        per_ip = Throttle(
            clock=self._clock,
            free_failures=limits.failures_per_ip,
            max_lockout=limits.lockout_max_seconds,
            table=self._table,
        )
        return per_user_ip, per_ip

    def _follow_reload(self) -> None:
        """After a reload changed [limits], the throttles count with the new allowances (the
        counts are in the table, kept): one identity test per sign-in otherwise."""
        limits = self._settings.current.limits
        if limits is not self._limits:
            self._limits = limits
            self._per_user_ip, self._per_ip = self._throttles(limits)
            self._clear.clear()

    @property
    def remote(self) -> bool:
        """The counts are in a database (every replica's): calls that read or write them
        belong in the store's threads, not on the event loop."""
        return self._table.remote

    def active(self) -> bool:
        """False while nobody has failed lately: check() and succeeded() do nothing then."""
        return bool(self._per_user_ip)

    def answers_here(self, username: str, ip: str | None) -> bool:
        """check() and succeeded() for this client need no database call: the counts are
        local, nobody has failed lately, or both of its keys are in memory."""
        return (
            not self._table.remote
            or not self.active()
            or (self._table.cached(_pair(username, ip)) and self._table.cached(_ip(ip)))
        )

    def begin(self, username: str, ip: str | None) -> SignInAttempt:
        """An attempt, after the cheap check (429 while locked out)."""
        self.check(username, ip)
        return SignInAttempt(self, username, ip)

    def check(self, username: str, ip: str | None) -> None:
        self._follow_reload()
        if not self._per_user_ip:  # the same table as _per_ip's
            return  # nobody has failed lately: the usual case, at the cost of one test
        # Read before the entries: a put() racing the look-ups changes it after them.
        version = self._table.version()
        if self._known_clear(username, ip, version):
            return
        pair = _pair(username, ip)
        wait = max(self._per_user_ip.retry_after(pair), self._per_ip.retry_after(_ip(ip)))
        if wait:
            raise TooManyRequests(THROTTLED, retry_after=wait)
        if version is not None and self._table.get(pair) is None:
            # Until the next put(), no wait can appear (entries only age) and a success has
            # nothing to reset: check() and succeeded() need not look again.
            if len(self._clear) >= _REMEMBERED_CLEAR:
                self._clear.clear()
            self._clear.add((username, ip))

    def _known_clear(self, username: str, ip: str | None, version: object | None) -> bool:
        if version is None:
            return False
        if version != self._clear_version:
            self._clear.clear()
            self._clear_version = version
            return False
        return (username, ip) in self._clear

    def reserve(self, username: str, ip: str | None) -> None:
        """Counts an attempt before its check, atomically for both keys; 429 when the
        attempts already under way could use up what is left of either allowance."""
        pair, address = _pair(username, ip), _ip(ip)
        with self._table.lock():
            wait = self._per_user_ip.reserve(pair)
            if not wait:
                wait = self._per_ip.reserve(address)
                if wait:
                    self._per_user_ip.settle(pair, failed=False)
        if wait:
            raise TooManyRequests(THROTTLED, retry_after=wait)

    def settle(self, username: str, ip: str | None, *, failed: bool, succeeded: bool) -> None:
        with self._table.lock():
            self._per_user_ip.settle(_pair(username, ip), failed=failed, succeeded=succeeded)
            # A success resets only the pair, as succeeded() does.
            self._per_ip.settle(_ip(ip), failed=failed)

    def failed(self, username: str, ip: str | None) -> None:
        with self._table.lock():
            self._per_user_ip.failure(_pair(username, ip))
            self._per_ip.failure(_ip(ip))

    def succeeded(self, username: str, ip: str | None) -> None:
        # Only the pair: one valid account must not wipe the address's count of failures
        # against other accounts (a spray interleaved with successful sign-ins).
        if self._per_user_ip and not self._known_clear(username, ip, self._table.version()):
            self._per_user_ip.success(_pair(username, ip))


class SignInAttempt:
    """One sign-in, from the check to its outcome. A check that waits (a password hash) is
    reserved first (`reserve`); a check that does not (a token's HMAC, compared in the same
    loop turn as the check before it) is counted when it fails."""

    __slots__ = ("_guard", "_reserved", "_username", "ip")
    # reserve() and a reserved attempt's outcome always write; failed() always writes.

    def __init__(self, guard: SignInGuard, username: str, ip: str | None) -> None:
        self._guard = guard
        self._username = username
        self.ip = ip
        self._reserved = False

    def reserve(self) -> None:
        self._guard.reserve(self._username, self.ip)
        self._reserved = True

    @property
    def reserved(self) -> bool:
        return self._reserved

    def answers_here(self) -> bool:
        return self._guard.answers_here(self._username, self.ip)

    def failed(self) -> None:
        self._end(failed=True, succeeded=False)

    def succeeded(self) -> None:
        self._end(failed=False, succeeded=True)

    def abandoned(self) -> None:
        """No outcome to count (the check never ran, or proved nothing to throttle)."""
        self._end(failed=False, succeeded=False)

    def _end(self, *, failed: bool, succeeded: bool) -> None:
        guard, username, ip = self._guard, self._username, self.ip
        if self._reserved:
            self._reserved = False
            guard.settle(username, ip, failed=failed, succeeded=succeeded)
        elif failed:
            guard.failed(username, ip)
        elif succeeded:
            guard.succeeded(username, ip)


def _pair(username: str, ip: str | None) -> str:
    return f"{ip}\0{_folded(username)}"


def _folded(username: str) -> str:
    """One key for the spellings a directory takes as one name: case, and full-width or other
    compatibility forms (LDAP matches `ALICE` and its full-width spelling as alice). Merging more names
    than the directory does only throttles sooner."""
    if username.isascii():
        return username.lower()
    return unicodedata.normalize("NFKC", username).casefold()


def _ip(ip: str | None) -> str:
    return f"{ip}"
