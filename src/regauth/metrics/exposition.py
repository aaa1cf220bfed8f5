"""/metrics in Prometheus's text format, one view of all the workers of a `regauth serve`.

Each worker counts in plain ints (`counts.Metrics`) and, once a second and before it answers a
scrape, writes its totals to files of its own in a directory the serving process made for the
purpose: prometheus-client's multiprocess files, one per metric type and process id, which
`MultiProcessCollector` merges on every scrape. Writing per increment, as prometheus-client's
own multiprocess metrics do (a lock and an mmap write each), would put several such writes on
every /token; a publish costs a few dozen writes a second, whatever the load.

A worker that exits leaves its counter and histogram files behind, so its counts stay in the
sums (at most its last second is lost if it is killed with SIGKILL; SIGTERM publishes once
more); a process that later gets the same pid continues from those totals instead of writing
over them. Its live gauges (checks in flight) go with it (`process_dead`).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.mmap_dict import MmapedDict, mmap_key
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector
from prometheus_client.utils import floatToGoString

from regauth.metrics.counts import Histogram, Metrics

# The classic text format (what every Prometheus version reads).
CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
PUBLISH_SECONDS = 1.0
# The file types of MultiProcessCollector: "<type>_<pid>.db"; a gauge's adds how it merges
# ("livesum": the sum over the processes alive, their files removed when they die).
_COUNTER, _HISTOGRAM, _LIVE_GAUGE = "counter", "histogram", "gauge_livesum"

# (metric, help) of each published metric; the README's table lists them with their labels.
TOKEN_REQUESTS = ("regauth_token_requests", "/token answers by outcome and grant type")
TOKEN_DURATION = (
    "regauth_token_request_duration_seconds",
    "Time from a /token request's arrival in the app to its answer",
)
SIGNIN_FAILURES = ("regauth_signin_failures", "Failed sign-ins (/token and the API) by reason")
SIGN_BATCH = ("regauth_signing_batch_size", "Tokens signed in one batch (signing/batching.py)")
DATABASE_ERRORS = (
    "regauth_database_errors",
    "Requests answered 503 because the database could not answer (errors.Unavailable)",
)
CACHE_HITS = ("regauth_cache_hits", "Cache look-ups that found a value, by cache")
CACHE_MISSES = ("regauth_cache_misses", "Cache look-ups that found none, by cache")
PASSWORD_CHECKS = (
    "regauth_password_checks_in_flight",
    "Password hash checks running or queued (services/passwords.py), all workers",
)
TOKENS = ("regauth_tokens", "Stored credentials by kind and state (computed on scrape, cached)")

_Sample = tuple[str, str, str, str, tuple[str, ...], tuple[str, ...], float]


def samples(metrics: Metrics) -> Iterator[_Sample]:
    """(file type, metric, help, sample name, label names, label values, value) of every
    series, as prometheus-client's multiprocess files hold them."""
    name, doc = TOKEN_REQUESTS
    for (outcome, grant), count in list(metrics.token_requests.items()):
        yield _COUNTER, name, doc, f"{name}_total", ("outcome", "grant"), (outcome, grant), count
    yield from _histogram(TOKEN_DURATION, metrics.token_duration)
    name, doc = SIGNIN_FAILURES
    for reason, count in list(metrics.signin_failures.items()):
        yield _COUNTER, name, doc, f"{name}_total", ("reason",), (reason,), count
    yield from _histogram(SIGN_BATCH, metrics.sign_batches)
    name, doc = DATABASE_ERRORS
    yield _COUNTER, name, doc, f"{name}_total", (), (), metrics.database_errors
    for cache, stats in list(metrics.caches.items()):
        for (name, doc), count in ((CACHE_HITS, stats.hits), (CACHE_MISSES, stats.misses)):
            yield _COUNTER, name, doc, f"{name}_total", ("cache",), (cache,), count
    name, doc = PASSWORD_CHECKS
    yield _LIVE_GAUGE, name, doc, name, (), (), metrics.password_checks_in_flight


def _histogram(metric: tuple[str, str], histogram: Histogram) -> Iterator[_Sample]:
    # Buckets not cumulative, and no _count: MultiProcessCollector adds them up itself.
    name, doc = metric
    bounds = [*histogram.bounds, float("inf")]
    for bound, count in zip(bounds, histogram.counts, strict=True):
        yield _HISTOGRAM, name, doc, f"{name}_bucket", ("le",), (floatToGoString(bound),), count
    yield _HISTOGRAM, name, doc, f"{name}_sum", (), (), histogram.sum


class Exporter:
    """One process's totals, written to its files in `directory` by `publish()`."""

    def __init__(self, metrics: Metrics, directory: Path, *, pid: int | None = None) -> None:
        self.metrics = metrics
        self.directory = directory
        self._pid = os.getpid() if pid is None else pid
        self._files: dict[str, _File] = {}
        self._keys: dict[tuple[str, tuple[str, ...], tuple[str, ...]], str] = {}

    def publish(self) -> None:
        for typ, metric, doc, name, labelnames, labelvalues, value in samples(self.metrics):
            file = self._files.get(typ)
            if file is None:
                path = self.directory / f"{typ}_{self._pid}.db"
                file = self._files[typ] = _File(path, accumulate=typ != _LIVE_GAUGE)
            key = self._keys.get((name, labelnames, labelvalues))
            if key is None:
                key = mmap_key(metric, name, list(labelnames), list(labelvalues), doc)
                self._keys[name, labelnames, labelvalues] = key
            file.write(key, float(value))

    def close(self) -> None:
        for file in self._files.values():
            file.close()
        self._files.clear()


class _File:
    """A process's file of one type. Counts add to what the file held when it was opened: a
    file left by an earlier process with the same pid keeps that process's counts."""

    def __init__(self, path: Path, *, accumulate: bool) -> None:
        self._dict = MmapedDict(str(path))
        self._base = (
            {key: value for key, value, _ in self._dict.read_all_values()} if accumulate else {}
        )

    def write(self, key: str, value: float) -> None:
        self._dict.write_value(key, self._base.get(key, 0.0) + value, 0.0)

    def close(self) -> None:
        self._dict.close()


def render(directory: Path, tokens: Mapping[tuple[str, str], int] | None) -> bytes:
    """Every process's files in `directory`, merged, and the scrape-time `regauth_tokens`.

    Reads files: call it off the event loop."""
    registry = CollectorRegistry(auto_describe=False)
    MultiProcessCollector(registry, path=str(directory))
    if tokens is not None:
        registry.register(_Families([_tokens_family(tokens)]))
    return generate_latest(registry)


def _tokens_family(tokens: Mapping[tuple[str, str], int]) -> GaugeMetricFamily:
    name, doc = TOKENS
    family = GaugeMetricFamily(name, doc, labels=("kind", "state"))
    for (kind, state), count in sorted(tokens.items()):
        family.add_metric((kind, state), count)
    return family


class _Families(Collector):
    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterable[Metric]:
        return self._families


def process_dead(directory: Path, pid: int) -> None:
    """A worker is gone: its live gauges stop counting (its counters stay in the sums)."""
    mark_process_dead(pid, str(directory))
