"""Results: per-run records, medians with min-max, per-rep ratios, targets, printed tables."""

from __future__ import annotations

import statistics
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Protocol

# Other processes using more than this many cores during a run took CPU the servers needed.
DISTURBED_CORES = 0.15


@dataclass(frozen=True)
class Scenario:
    key: str
    label: str
    server: str
    mode: str  # token.lua mode: "unique" or "repeat"
    credentials: str = "pats"  # whose Basic credentials: "pats" or "passwords" (remembered)


@dataclass(frozen=True)
class RunResult:
    scenario: str
    rep: int
    requests: int
    duration_s: float
    rps: float
    p50_ms: float
    p99_ms: float
    socket_errors: int
    non_2xx: int
    server_log_errors: int
    server_cpu_us_per_req: float
    server_cores: float
    server_preemptions_per_kreq: float  # involuntary context switches per 1,000 requests
    wrk_cores: float
    other_cores: float  # everything else on the machine: other jobs make the numbers unreliable
    rss_idle_mib: float
    rss_peak_mib: float
    log_bytes_per_req: float

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx + self.server_log_errors

    @property
    def ok(self) -> bool:
        return self.errors == 0

    @property
    def disturbed(self) -> bool:
        return self.other_cores > DISTURBED_CORES


@dataclass(frozen=True)
class Summary:
    scenario: str
    label: str
    runs: int
    failed_runs: int
    errors: int
    rps_median: float | None
    rps_min: float | None
    rps_max: float | None
    p50_ms: float | None
    p99_ms: float | None
    cpu_us_per_req: float | None
    server_cores: float | None
    preemptions_per_kreq: float | None
    wrk_cores: float | None
    other_cores: float | None
    rss_idle_mib: float | None
    rss_peak_mib: float | None


@dataclass(frozen=True)
class Ratio:
    key: str
    label: str
    per_rep: list[float | None]
    median: float | None
    target: str
    passed: bool | None  # None: informational, no target
    disturbed: list[bool] = field(default_factory=list)  # per rep: other jobs were running


def _median(values: Sequence[float]) -> float | None:
    return statistics.median(values) if values else None


def summarize(scenario: Scenario, runs: Sequence[RunResult]) -> Summary:
    good = [r for r in runs if r.ok]  # a run with errors measured error pages, not tokens

    def med(get: Callable[[RunResult], float]) -> float | None:
        return _median([get(r) for r in good])

    return Summary(
        scenario=scenario.key,
        label=scenario.label,
        runs=len(runs),
        failed_runs=len(runs) - len(good),
        errors=sum(r.errors for r in runs),
        rps_median=med(lambda r: r.rps),
        rps_min=min((r.rps for r in good), default=None),
        rps_max=max((r.rps for r in good), default=None),
        p50_ms=med(lambda r: r.p50_ms),
        p99_ms=med(lambda r: r.p99_ms),
        cpu_us_per_req=med(lambda r: r.server_cpu_us_per_req),
        server_cores=med(lambda r: r.server_cores),
        preemptions_per_kreq=med(lambda r: r.server_preemptions_per_kreq),
        wrk_cores=med(lambda r: r.wrk_cores),
        other_cores=med(lambda r: r.other_cores),
        rss_idle_mib=min((r.rss_idle_mib for r in runs), default=None),
        rss_peak_mib=max((r.rss_peak_mib for r in runs), default=None),
    )


def throughput_ratio(
    key: str,
    label: str,
    runs: dict[str, list[RunResult]],
    numerator: str,
    denominator: str,
    minimum: float | None = None,
) -> Ratio:
    """numerator req/s ÷ denominator req/s within each rep (same minute, same noise)."""
    by_rep = {r.rep: r for r in runs[denominator]}
    per_rep: list[float | None] = []
    disturbed: list[bool] = []
    for run in runs[numerator]:
        base = by_rep.get(run.rep)
        if base is not None and run.ok and base.ok and base.rps > 0:
            per_rep.append(run.rps / base.rps)
        else:
            per_rep.append(None)
        disturbed.append(run.disturbed or (base is not None and base.disturbed))
    median = _median([v for v in per_rep if v is not None])
    if minimum is None:
        return Ratio(key, label, per_rep, median, "", None, disturbed)
    passed = median is not None and median >= minimum
    return Ratio(key, label, per_rep, median, f">= {minimum:g}", passed, disturbed)


def p99_target(key: str, label: str, runs: Sequence[RunResult], maximum_ms: float) -> Ratio:
    per_rep: list[float | None] = [r.p99_ms if r.ok else None for r in runs]
    median = _median([v for v in per_rep if v is not None])
    passed = median is not None and median < maximum_ms
    disturbed = [r.disturbed for r in runs]
    return Ratio(key, label, per_rep, median, f"< {maximum_ms:g} ms", passed, disturbed)


class _Measured(Protocol):
    """What p99_ratio reads of a run: run.py's RunResult and replicas.py's ReplicaRun."""

    @property
    def rep(self) -> int: ...
    @property
    def ok(self) -> bool: ...
    @property
    def p99_ms(self) -> float: ...
    @property
    def disturbed(self) -> bool: ...


def p99_ratio(
    key: str,
    label: str,
    runs: Mapping[str, Sequence[_Measured]],
    numerator: str,
    denominator: str,
    maximum: float,
) -> Ratio:
    """numerator p99 ÷ denominator p99 within each rep; passes when the median is at most
    `maximum`."""
    by_rep = {r.rep: r for r in runs[denominator]}
    per_rep: list[float | None] = []
    disturbed: list[bool] = []
    for run in runs[numerator]:
        base = by_rep.get(run.rep)
        ok = base is not None and run.ok and base.ok and base.p99_ms > 0
        per_rep.append(run.p99_ms / base.p99_ms if ok and base is not None else None)
        disturbed.append(run.disturbed or (base is not None and base.disturbed))
    median = _median([v for v in per_rep if v is not None])
    passed = median is not None and median <= maximum
    return Ratio(key, label, per_rep, median, f"<= {maximum:g}", passed, disturbed)


def errors_target(runs: dict[str, list[RunResult]]) -> Ratio:
    per_rep_total: dict[int, float] = {}
    for scenario_runs in runs.values():
        for r in scenario_runs:
            per_rep_total[r.rep] = per_rep_total.get(r.rep, 0) + r.errors
    per_rep: list[float | None] = [per_rep_total[rep] for rep in sorted(per_rep_total)]
    total = sum(v for v in per_rep if v is not None)
    return Ratio(
        "errors",
        "errors, all runs (socket + non-2xx + server log)",
        per_rep,
        total,
        "= 0",
        total == 0,
    )


# --- rendering ---------------------------------------------------------------------------------


def _num(value: float | None, digits: int = 0) -> str:
    if value is None:
        return "-"
    return f"{value:,.{digits}f}"


def _table(header: list[str], rows: list[list[str]], align_left: int = 1) -> str:
    widths = [max(len(h), *(len(row[i]) for row in rows)) for i, h in enumerate(header)]

    def line(cells: list[str]) -> str:
        padded = [
            c.ljust(w) if i < align_left else c.rjust(w)
            for i, (c, w) in enumerate(zip(cells, widths, strict=True))
        ]
        return "| " + " | ".join(padded) + " |"

    rule = (
        "|"
        + "|".join("-" * (w + 1) + ("-" if i < align_left else ":") for i, w in enumerate(widths))
        + "|"
    )
    return "\n".join([line(header), rule, *(line(r) for r in rows)])


def render_summaries(summaries: Sequence[Summary]) -> str:
    header = [
        "config",
        "req/s median (min-max)",
        "p50 ms",
        "p99 ms",
        "server CPU µs/req",
        "server cores",
        "preempted /1k req",
        "wrk cores",
        "other cores",
        "RSS idle/peak MiB",
        "errors",
    ]
    rows = [
        [
            s.label,
            f"{_num(s.rps_median)} ({_num(s.rps_min)}-{_num(s.rps_max)})",
            _num(s.p50_ms, 2),
            _num(s.p99_ms, 2),
            _num(s.cpu_us_per_req),
            _num(s.server_cores, 2),
            _num(s.preemptions_per_kreq),
            _num(s.wrk_cores, 2),
            _num(s.other_cores, 2),
            f"{_num(s.rss_idle_mib)} / {_num(s.rss_peak_mib)}",
            f"{s.errors}" + (f" ({s.failed_runs} failed runs)" if s.failed_runs else ""),
        ]
        for s in summaries
    ]
    return _table(header, rows)


def render_ratios(ratios: Sequence[Ratio], reps: int) -> str:
    header = ["ratio / target", *(f"rep {i + 1}" for i in range(reps)), "median", "target", ""]
    rows = []
    for r in ratios:
        digits = 0 if r.key == "errors" else 2
        cells = [
            _num(v, digits) + ("*" if i < len(r.disturbed) and r.disturbed[i] else "")
            for i, v in enumerate(r.per_rep)
        ]
        cells += ["-"] * (reps - len(cells))
        verdict = "" if r.passed is None else ("PASS" if r.passed else "FAIL")
        rows.append([r.label, *cells, _num(r.median, digits), r.target, verdict])
    table = _table(header, rows)
    if any(any(r.disturbed) for r in ratios):
        table += (
            f"\n* other processes used > {DISTURBED_CORES:g} cores during that rep's runs: "
            "trust the undisturbed reps more"
        )
    return table
