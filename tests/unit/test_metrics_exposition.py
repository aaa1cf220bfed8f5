"""The workers' counts merged through their files: sums across processes, a reused pid that
continues instead of overwriting, a dead process's live gauge dropped and its counters kept."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from regauth.metrics.counts import Histogram, Metrics
from regauth.metrics.exposition import Exporter, process_dead, render

GRANTED = ("regauth_token_requests_total", (("grant", "get"), ("outcome", "granted")))
IN_FLIGHT = ("regauth_password_checks_in_flight", ())


def samples(directory: Path) -> dict[tuple[str, tuple[tuple[str, str], ...]], float]:
    text = render(directory, {("personal", "active"): 3}).decode()
    return {
        (s.name, tuple(sorted(s.labels.items()))): s.value
        for family in text_string_to_metric_families(text)
        for s in family.samples
    }


_open: list[Exporter] = []


@pytest.fixture(autouse=True)
def _close_exporters() -> Iterator[None]:
    yield
    while _open:
        _open.pop().close()


def worker(directory: Path, pid: int, *, granted: int, in_flight: int = 0) -> Exporter:
    """A process that counted and published (closed at the end of the test)."""
    metrics = Metrics()
    for _ in range(granted):
        metrics.token_request("granted", "get", 0.002)
    metrics.password_checks_in_flight = in_flight
    exporter = Exporter(metrics, directory, pid=pid)
    _open.append(exporter)
    exporter.publish()
    return exporter


def test_the_counts_of_every_process_are_summed(tmp_path: Path) -> None:
    worker(tmp_path, 101, granted=3, in_flight=1)
    worker(tmp_path, 102, granted=4, in_flight=2)
    merged = samples(tmp_path)
    assert merged[GRANTED] == 7
    assert merged[IN_FLIGHT] == 3
    assert merged[("regauth_token_request_duration_seconds_count", ())] == 7
    assert merged[("regauth_token_request_duration_seconds_bucket", (("le", "0.0025"),))] == 7
    assert merged[("regauth_token_request_duration_seconds_bucket", (("le", "0.001"),))] == 0
    assert merged[("regauth_tokens", (("kind", "personal"), ("state", "active")))] == 3


def test_publishing_again_writes_totals_not_increments(tmp_path: Path) -> None:
    exporter = worker(tmp_path, 101, granted=2)
    exporter.publish()
    exporter.metrics.token_request("granted", "get", 0.002)
    exporter.publish()
    assert samples(tmp_path)[GRANTED] == 3


def test_a_process_with_a_dead_ones_pid_adds_to_its_counts(tmp_path: Path) -> None:
    worker(tmp_path, 101, granted=5).close()  # died; its pid is given to a new worker
    worker(tmp_path, 101, granted=2)
    assert samples(tmp_path)[GRANTED] == 7


def test_a_dead_process_keeps_its_counts_and_loses_its_checks_in_flight(tmp_path: Path) -> None:
    worker(tmp_path, 101, granted=5, in_flight=2).close()
    worker(tmp_path, 102, granted=1, in_flight=1)
    process_dead(tmp_path, 101)
    merged = samples(tmp_path)
    assert merged[GRANTED] == 6
    assert merged[IN_FLIGHT] == 1


def test_a_value_on_a_bound_is_in_that_bounds_bucket() -> None:
    histogram = Histogram((1.0, 2.0))
    for value in (0.5, 1.0, 1.5, 2.0, 3.0):
        histogram.observe(value)
    assert histogram.counts == [2, 2, 1]
    assert histogram.count == 5 and histogram.sum == 8.0
