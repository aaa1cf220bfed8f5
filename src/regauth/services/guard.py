"""Sign-in throttling: per (client IP, username) and per client IP, checked before any password work."""

from __future__ import annotations

from regauth.clock import Clock
from regauth.config import LimitsConfig
from regauth.errors import TooManyRequests
from regauth.throttle import FailureTable, MemoryTable, Throttle

THROTTLED = "too many failed sign-ins: try again later"


class SignInGuard:
    """Counts failures only: a client that sends no credentials (Docker's first probe) or
    signs in correctly is never slowed down, and other users from other addresses never are.

    The counts live in `table`: a SharedTable beside the database, so all workers on the
    machine count together (replicas on other machines each count their own).
    """

    def __init__(
        self, limits: LimitsConfig, *, clock: Clock, table: FailureTable | None = None
    ) -> None:
        # One table for both: a pair's key ("ip\0user") never equals an address's ("ip").
        table = table if table is not None else MemoryTable()
        self._per_user_ip = Throttle(
            clock=clock,
            free_failures=limits.failures_per_user_ip,
            max_lockout=limits.lockout_max_seconds,
            table=table,
        )
        self._per_ip = Throttle(
            clock=clock,
            free_failures=limits.failures_per_ip,
            max_lockout=limits.lockout_max_seconds,
            table=table,
        )

    def check(self, username: str, ip: str | None) -> None:
        if not self._per_user_ip:  # the same table as _per_ip's
            return  # nobody has failed lately: the usual case, at the cost of one test
        wait = max(
            self._per_user_ip.retry_after(_pair(username, ip)),
            self._per_ip.retry_after(_ip(ip)),
        )
        if wait:
            raise TooManyRequests(THROTTLED, retry_after=wait)

    def failed(self, username: str, ip: str | None) -> None:
        self._per_user_ip.failure(_pair(username, ip))
        self._per_ip.failure(_ip(ip))

    def succeeded(self, username: str, ip: str | None) -> None:
        # Only the pair: one valid account must not wipe the address's count of failures
        # against other accounts (a spray interleaved with successful sign-ins).
        if self._per_user_ip:
            self._per_user_ip.success(_pair(username, ip))


def _pair(username: str, ip: str | None) -> str:
    return f"{ip}\0{username}"


def _ip(ip: str | None) -> str:
    return f"{ip}"
