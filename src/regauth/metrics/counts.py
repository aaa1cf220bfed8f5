"""What one process counts for /metrics, in plain ints: a counter is a dict entry or an
attribute, so the /token hot path pays a dict update, not a lock and an mmap write.

`exposition.py` publishes these totals once a second (and on every scrape) to the files that
/metrics merges across the workers; nothing here knows about Prometheus.
"""

from __future__ import annotations

from bisect import bisect_left
from collections import defaultdict
from dataclasses import dataclass

# The answers of /token, as `regauth_token_requests_total{outcome=...}`: the first three are
# 200s (everything asked granted, some of it, none of it); the rest are error answers.
GRANTED, PARTIAL, DENIED = "granted", "partial", "denied"
UNAUTHORIZED, THROTTLED, BAD_REQUEST = "unauthorized", "throttled", "bad_request"
UNAVAILABLE, ERROR = "unavailable", "error"
OUTCOMES = (GRANTED, PARTIAL, DENIED, UNAUTHORIZED, THROTTLED, BAD_REQUEST, UNAVAILABLE, ERROR)
# How the client asked: GET (Docker token auth) or POST with grant_type password/refresh_token;
# "other" is a POST whose grant type was missing or unsupported.
GRANTS = ("get", "password", "refresh", "other")

# Seconds. A /token costs ~0.2 ms of CPU; under load it waits its turn behind other requests.
DURATION_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5)
# Tokens signed in one batch (signing/batching.py signs at most 64 at a time).
BATCH_BUCKETS = (1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0)


class Histogram:
    """Counts per bucket (not cumulative: each observation lands in one) and their sum."""

    __slots__ = ("bounds", "counts", "sum")

    def __init__(self, bounds: tuple[float, ...]) -> None:
        self.bounds = bounds
        self.counts = [0] * (len(bounds) + 1)  # the last is +Inf
        self.sum = 0.0

    def observe(self, value: float) -> None:
        # bisect_left: a value equal to a bound is in that bound's bucket (Prometheus's `le`).
        self.counts[bisect_left(self.bounds, value)] += 1
        self.sum += value

    @property
    def count(self) -> int:
        return sum(self.counts)


@dataclass(slots=True)
class CacheStats:
    """Look-ups of one cache (services/cache.py) that found a value, and that did not."""

    hits: int = 0
    misses: int = 0


class Metrics:
    """Everything one process counts. Only the event loop's thread writes it (password checks
    count around their thread, not in it), so no lock is needed."""

    def __init__(self, *, enabled: bool = True) -> None:
        # False: nothing publishes or serves these; the few counts in services still happen
        # (a dict update each), the per-request timing of /token does not.
        self.enabled = enabled
        self.token_requests: defaultdict[tuple[str, str], int] = defaultdict(int)
        for outcome in OUTCOMES:  # every series exists from the start, so rate() sees a 0
            for grant in GRANTS:
                self.token_requests[outcome, grant] = 0
        self.token_duration = Histogram(DURATION_BUCKETS)
        self.signin_failures: defaultdict[str, int] = defaultdict(int)
        self.sign_batches = Histogram(BATCH_BUCKETS)
        self.database_errors = 0
        self.caches: dict[str, CacheStats] = {}
        self.password_checks_in_flight = 0

    def token_request(self, outcome: str, grant: str, seconds: float) -> None:
        self.token_requests[outcome, grant] += 1
        self.token_duration.observe(seconds)

    def cache(self, name: str) -> CacheStats:
        """The counts of the cache called `name` (the same object for the same name)."""
        return self.caches.setdefault(name, CacheStats())
