"""Sign-in throttling: per (client IP, username) and per client IP, checked before any password work."""

from __future__ import annotations

from regauth.clock import Clock
from regauth.config import LimitsConfig
from regauth.errors import TooManyRequests
from regauth.throttle import Throttle

THROTTLED = "too many failed sign-ins: try again later"


class SignInGuard:
    """Counts failures only: a client that sends no credentials (Docker's first probe) or
    signs in correctly is never slowed down, and other users from other addresses never are.

    Counters live in each worker process's memory; with N workers an attacker gets at most
    N times the configured allowance before every worker has locked them out.
    """

    def __init__(self, limits: LimitsConfig, *, clock: Clock) -> None:
        self._per_user_ip = Throttle(
            clock=clock,
            free_failures=limits.failures_per_user_ip,
            max_lockout=limits.lockout_max_seconds,
        )
        self._per_ip = Throttle(
            clock=clock,
            free_failures=limits.failures_per_ip,
            max_lockout=limits.lockout_max_seconds,
        )

    def check(self, username: str, ip: str | None) -> None:
        if not (self._per_user_ip or self._per_ip):
            return  # nobody has failed lately: the usual case, at the cost of two tests
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
