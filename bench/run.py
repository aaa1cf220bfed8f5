"""Load benchmark of regauth's /token against two reference servers, all in one round-robin run.

Usage: .venv/bin/python bench/run.py [--duration 10] [--reps 5] [--connections 32]
                                     [--wrk-policy batch|normal] [--metrics-ab]
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import platform
import resource
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from contextlib import ExitStack
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import FrameType
from typing import Any

from bulk_fill import add_stored_tokens, insert_pats, new_pats
from checks import check_foreign_pat_refused, check_token_endpoint
from procstat import (
    MIB,
    RssPeak,
    busy_cores,
    cpu_seconds,
    machine_busy_seconds,
    preemptions,
    rss_bytes,
)
from regauth_fixture import (
    Credential,
    clean_env,
    create_credentials,
    create_password_user,
    create_user,
    serve_command,
    write_config,
    write_credentials,
)
from report import (
    DISTURBED_CORES,
    Ratio,
    RunResult,
    Scenario,
    Summary,
    errors_target,
    p99_ratio,
    p99_target,
    render_ratios,
    render_summaries,
    summarize,
    throughput_ratio,
)
from servers import BenchError, Server, ServerPool, free_port
from wrk import WRK_POLICIES, WrkError, WrkResult, policy_prefix, run_wrk, wait_for_wrk

BENCH_DIR = Path(__file__).resolve().parent
LUA_SCRIPT = BENCH_DIR / "token.lua"
RESULTS_DIR = BENCH_DIR / "results"
CREDENTIALS_FILES = {"pats": "credentials.tsv", "passwords": "passwords.tsv"}
WARMUP_S = 2.0
P99_LIMIT_MS = 5.0
# Before each run, wait (up to --max-wait-quiet) until the idle machine uses less than this.
QUIET_CORES = 0.25

# In this order, the two configs of every target ratio run next to each other (sign-only, w1,
# w2): the host's speed drifts over tens of seconds, and a ratio is only as good as the two
# runs it divides being measured under the same conditions.
SCENARIOS = [
    Scenario("hello", "hello (bare aiohttp, constant JSON)", "hello", "unique"),
    # Every server of the other runs never saw a failure (a fresh service's state); this
    # one had a wrong PAT from the same address before the load, as a service in use has.
    Scenario(
        "token-w1-failed",
        "regauth /token, 1 worker, a failure on record",
        "regauth-w1-failed",
        "unique",
    ),
    Scenario("sign-only", "sign-only (bare aiohttp + ES256)", "sign-only", "unique"),
    Scenario("token-w1-unique", "regauth /token, 1 worker, unique repos", "regauth-w1", "unique"),
    Scenario("token-w2-unique", "regauth /token, 2 workers, unique repos", "regauth-w2", "unique"),
    Scenario(
        "password-w1",
        "regauth /token, 1 worker, passwords (remembered)",
        "regauth-w1",
        "unique",
        "passwords",
    ),
    Scenario("token-w2-repeat", "regauth /token, 2 workers, repeated req", "regauth-w2", "repeat"),
    Scenario("token-w1-repeat", "regauth /token, 1 worker, repeated req", "regauth-w1", "repeat"),
]

# --metrics-ab: /token with [metrics] enabled and without, 1 and 2 workers, instead of the
# above. The order pairs each "on" with its "off" (then ABBA, as above).
METRICS_AB_SCENARIOS = [
    Scenario(
        "token-w1-metrics-off", "regauth /token, 1 worker, metrics off", "regauth-w1-off", "unique"
    ),
    Scenario("token-w1-unique", "regauth /token, 1 worker, metrics on", "regauth-w1", "unique"),
    Scenario("token-w2-unique", "regauth /token, 2 workers, metrics on", "regauth-w2", "unique"),
    Scenario(
        "token-w2-metrics-off", "regauth /token, 2 workers, metrics off", "regauth-w2-off", "unique"
    ),
]
# --stored-ab N: /token over the same 1,000 distinct PATs against a database holding them
# alone (10^3 tokens) and one holding N tokens (filled in bulk, bulk_fill.py).
STORED_AB_SCENARIOS = [
    Scenario(
        "token-w1-small", "regauth /token, 1 worker, 10^3 stored", "regauth-w1-small", "unique"
    ),
    Scenario("token-w1-large", "regauth /token, 1 worker, N stored", "regauth-w1-large", "unique"),
]
STORED_AB_PATS = (8, 125)  # users x PATs each: 1,000 distinct PATs in the load
# What 10^6 stored tokens may cost /token: 5 % of its throughput, half again its p99.
STORED_MIN_RATIO, STORED_MAX_P99_RATIO = 0.95, 1.5
# What metrics may cost /token: at most 3 % of its throughput.
METRICS_MIN_RATIO = 0.97


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=8.0, help="seconds per measured run")
    parser.add_argument("--reps", type=int, default=7, help="round-robin repetitions")
    parser.add_argument("--connections", type=int, default=32, help="wrk connections")
    parser.add_argument("--users", type=int, default=8, help="users to create (>= 2)")
    parser.add_argument("--tokens-per-user", type=int, default=4, help="PATs per user")
    parser.add_argument(
        "--password-users", type=int, default=8, help="users signing in with a password"
    )
    parser.add_argument(
        "--max-wait-quiet",
        type=float,
        default=30.0,
        help="seconds to wait before each run for other jobs on the machine to finish (0: never)",
    )
    parser.add_argument(
        "--wrk-policy",
        choices=WRK_POLICIES,
        default="batch",
        help="wrk's scheduling: batch (SCHED_BATCH: never preempts a server on wakeup) or normal",
    )
    parser.add_argument(
        "--wait-for-wrk", type=float, default=0.0, help="seconds to poll for wrk if absent"
    )
    parser.add_argument(
        "--stored-ab",
        type=int,
        default=0,
        metavar="N",
        help="measure /token with 1,000 distinct PATs over 10^3 stored tokens against N instead",
    )
    parser.add_argument(
        "--metrics-ab",
        action="store_true",
        help="measure /token with [metrics] enabled against disabled (1 and 2 workers) instead",
    )
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.reps < 1 or args.connections < 1:
        parser.error("--duration, --reps and --connections must be positive")
    if args.users < 2 or args.tokens_per_user < 1:
        parser.error("--users must be >= 2 and --tokens-per-user >= 1")
    return args


def reference_command(name: str, port: int) -> list[str]:
    """A reference server of reference_apps.py ("hello" or "sign-only") on `port`."""
    return [sys.executable, str(BENCH_DIR / "reference_apps.py"), name, "--port", str(port)]


def start_servers(
    pool: ServerPool, data_dir: Path, *, metrics_ab: bool = False
) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    env = clean_env()
    for name in () if metrics_ab else ("hello", "sign-only"):
        port = free_port()
        servers[name] = pool.start(
            name, reference_command(name, port), log_path=data_dir / f"{name}.log", port=port
        )
    variants = [
        (f"regauth-w{w}{'' if m else '-off'}", w, m)
        for w in (1, 2)
        for m in ((True, False) if metrics_ab else (True,))
    ]
    if not metrics_ab:
        variants.append(("regauth-w1-failed", 1, True))
    for name, workers, metrics in variants:
        port = free_port()
        config = write_config(data_dir, name=name, port=port, workers=workers, metrics=metrics)
        servers[name] = pool.start(
            name,
            serve_command(config),
            log_path=data_dir / f"{name}.log",
            port=port,
            env=env,
            # A supervisor and its workers; one worker runs in the main process.
            processes=1 if workers == 1 else 1 + workers,
        )
    for server in servers.values():
        server.wait_ready()
    return servers


def measure(
    server: Server,
    scenario: Scenario,
    *,
    rep: int,
    index: int,
    args: argparse.Namespace,
    data_dir: Path,
) -> RunResult:
    server.check_alive()
    url = f"{server.url}/token"

    def load(duration_s: float, nonce: str) -> WrkResult:
        return run_wrk(
            url,
            script=LUA_SCRIPT,
            script_args=[
                str(data_dir / CREDENTIALS_FILES[scenario.credentials]),
                scenario.mode,
                nonce,
            ],
            duration_s=duration_s,
            connections=args.connections,
            policy=args.wrk_policy,
        )

    load(WARMUP_S, f"{rep}c{index}w")  # discarded: connections, caches, lazy imports
    server.take_log()
    pids = server.pids()
    rss_idle = rss_bytes(pids)
    machine_before, wrk_before = machine_busy_seconds(), _children_cpu()
    preempted_before = preemptions(pids)
    cpu_before, wall_before = cpu_seconds(pids), time.monotonic()
    with RssPeak(pids) as rss:
        result = load(args.duration, f"{rep}c{index}")
    cpu = cpu_seconds(pids) - cpu_before
    wall = time.monotonic() - wall_before
    preempted = preemptions(pids) - preempted_before
    wrk_cpu = _children_cpu() - wrk_before
    other_cpu = machine_busy_seconds() - machine_before - cpu - wrk_cpu
    server.check_alive()
    log_bytes, log_errors = server.take_log()
    requests = max(result.requests, 1)
    return RunResult(
        scenario=scenario.key,
        rep=rep,
        requests=result.requests,
        duration_s=result.duration_s,
        rps=result.rps,
        p50_ms=result.p50_ms,
        p99_ms=result.p99_ms,
        socket_errors=result.socket_errors,
        non_2xx=result.non_2xx,
        server_log_errors=log_errors,
        server_cpu_us_per_req=cpu * 1e6 / requests,
        server_cores=cpu / wall,
        server_preemptions_per_kreq=preempted * 1000 / requests,
        wrk_cores=wrk_cpu / wall,
        other_cores=max(other_cpu, 0.0) / wall,
        rss_idle_mib=rss_idle / MIB,
        rss_peak_mib=rss.peak / MIB,
        log_bytes_per_req=log_bytes / requests,
    )


def wait_until_quiet(max_wait_s: float) -> None:
    """The box is shared: a test suite running next to us takes the cores the servers need."""
    deadline = time.monotonic() + max_wait_s
    busy = 0.0
    while time.monotonic() < deadline:
        busy = busy_cores(1.0)
        if busy < QUIET_CORES:
            return
    if max_wait_s > 0:
        print(f"    (other work keeps {busy:.2f} cores busy; running anyway)", flush=True)


def _children_cpu() -> float:
    # Only wrk is reaped during a run (the servers are reaped at the end), so this is wrk's CPU.
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def run_round_robin(
    servers: dict[str, Server], args: argparse.Namespace, data_dir: Path
) -> dict[str, list[RunResult]]:
    """Rep 1 of every scenario, then rep 2, ...: ratios within a rep share the same noise."""
    runs: dict[str, list[RunResult]] = {s.key: [] for s in SCENARIOS}
    for rep in range(1, args.reps + 1):
        for index, scenario in rep_order(rep):
            wait_until_quiet(args.max_wait_quiet)
            run = measure(
                servers[scenario.server],
                scenario,
                rep=rep,
                index=index,
                args=args,
                data_dir=data_dir,
            )
            runs[scenario.key].append(run)
            flag = "" if run.ok else f"  FAILED: {run.errors} errors"
            print(
                f"  rep {rep} {scenario.key:<16} {run.rps:>9,.0f} req/s  "
                f"p50 {run.p50_ms:6.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                f"{run.server_cpu_us_per_req:5.0f} µs CPU/req  "
                f"preempted {run.server_preemptions_per_kreq:4.0f}/1k req  "
                f"other load {run.other_cores:4.2f} cores{flag}",
                flush=True,
            )
    return runs


def rep_order(rep: int) -> list[tuple[int, Scenario]]:
    """SCENARIOS forwards in odd reps, backwards in even ones (ABBA).

    Within a rep, the second of two neighbouring configs runs ~10 s after the first; if the host
    is speeding up or slowing down, that favours one side of a ratio. Reversing every other rep
    puts each side second as often as first, so a steady drift cancels in the median instead of
    biasing it. The index stays the scenario's own (it seeds the request nonces).
    """
    order = list(enumerate(SCENARIOS))
    return order if rep % 2 == 1 else order[::-1]


def targets(runs: dict[str, list[RunResult]]) -> list[Ratio]:
    if "token-w1-large" in runs:
        return [
            throughput_ratio(
                "stored_throughput",
                "/token w1, N stored ÷ 10^3 stored",
                runs,
                "token-w1-large",
                "token-w1-small",
                STORED_MIN_RATIO,
            ),
            p99_ratio(
                "stored_p99",
                "/token w1 p99, N stored ÷ 10^3 stored",
                runs,
                "token-w1-large",
                "token-w1-small",
                STORED_MAX_P99_RATIO,
            ),
            errors_target(runs),
        ]
    if "token-w1-metrics-off" in runs:
        return [
            throughput_ratio(
                "w1_metrics",
                "/token w1 metrics on ÷ off",
                runs,
                "token-w1-unique",
                "token-w1-metrics-off",
                METRICS_MIN_RATIO,
            ),
            throughput_ratio(
                "w2_metrics",
                "/token w2 metrics on ÷ off",
                runs,
                "token-w2-unique",
                "token-w2-metrics-off",
                METRICS_MIN_RATIO,
            ),
            errors_target(runs),
        ]
    return [
        throughput_ratio(
            "w1_vs_sign", "/token w1 ÷ sign-only", runs, "token-w1-unique", "sign-only", 1.0
        ),
        throughput_ratio(
            "w2_vs_w1", "/token w2 ÷ /token w1", runs, "token-w2-unique", "token-w1-unique", 1.7
        ),
        p99_target("w2_p99", "/token w2 p99 ms", runs["token-w2-unique"], P99_LIMIT_MS),
        throughput_ratio(
            "w1_after_failure",
            "/token w1 with a failure on record ÷ without",
            runs,
            "token-w1-failed",
            "token-w1-unique",
            0.98,
        ),
        throughput_ratio(
            "password_vs_pat",
            "passwords (remembered) ÷ PATs, w1",
            runs,
            "password-w1",
            "token-w1-unique",
            0.9,
        ),
        p99_ratio(
            "password_p99",
            "passwords p99 ÷ PATs p99, w1",
            runs,
            "password-w1",
            "token-w1-unique",
            2.0,
        ),
        errors_target(runs),
    ]


def context_ratios(runs: dict[str, list[RunResult]]) -> list[Ratio]:
    if "token-w1-metrics-off" in runs or "token-w1-large" in runs:
        return []
    return [
        throughput_ratio("sign_vs_hello", "sign-only ÷ hello", runs, "sign-only", "hello"),
        throughput_ratio("w1_vs_hello", "/token w1 ÷ hello", runs, "token-w1-unique", "hello"),
        throughput_ratio(
            "w1_repeat", "/token w1 repeat ÷ unique", runs, "token-w1-repeat", "token-w1-unique"
        ),
        throughput_ratio(
            "w2_repeat", "/token w2 repeat ÷ unique", runs, "token-w2-repeat", "token-w2-unique"
        ),
    ]


def environment() -> dict[str, Any]:
    wrk_version = subprocess.run(["wrk", "-v"], capture_output=True, text=True, check=False)
    versions: dict[str, str | None] = {}
    for package in ("aiohttp", "cryptography", "orjson", "uvloop", "PyJWT", "regauth"):
        try:
            versions[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            versions[package] = None
    return {
        "python": platform.python_version(),
        "machine": platform.machine(),
        "cpus": len(os.sched_getaffinity(0)),
        "wrk": (wrk_version.stdout or wrk_version.stderr).splitlines()[0],
        "packages": versions,
    }


def write_json(payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"bench-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


def benchmark(args: argparse.Namespace) -> int:
    if args.metrics_ab:
        SCENARIOS[:] = METRICS_AB_SCENARIOS  # every function below runs these instead
    elif args.stored_ab:
        SCENARIOS[:] = STORED_AB_SCENARIOS
    wait_for_wrk(args.wait_for_wrk)
    policy_prefix(args.wrk_policy)  # fail before the setup if the policy cannot be applied
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    env = environment()
    print(
        f"regauth bench: {args.reps} reps x {len(SCENARIOS)} configs, {args.duration:g} s each "
        f"(+{WARMUP_S:g} s warm-up), wrk -t1 -c{args.connections} "
        f"({args.wrk_policy} scheduling); {env['cpus']} CPUs, "
        f"uvloop {env['packages']['uvloop'] or 'absent'}",
        flush=True,
    )
    with ExitStack() as stack:
        data_dir = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="regauth-bench-")))
        pool = stack.enter_context(ServerPool())
        if args.stored_ab:
            credentials, servers = start_stored_ab(pool, data_dir, args.stored_ab)
        else:
            credentials = make_credentials(data_dir, args)
            servers = start_servers(pool, data_dir, metrics_ab=args.metrics_ab)
        checks = check_servers(servers, credentials)
        runs = run_round_robin(servers, args, data_dir)
        check_refusals(servers, credentials, after_load=True)
    summaries, goals, context = print_report(runs, args.reps)
    path = write_json(
        {
            "started_at": started_at,
            "args": vars(args),
            "environment": env,
            "checks": checks,
            "runs": [dataclasses.asdict(r) for rs in runs.values() for r in rs],
            "summaries": [dataclasses.asdict(s) for s in summaries],
            "targets": [dataclasses.asdict(r) for r in goals],
            "context_ratios": [dataclasses.asdict(r) for r in context],
        }
    )
    print(f"results: {path}")
    return 0


def start_stored_ab(
    pool: ServerPool, data_dir: Path, stored: int
) -> tuple[list[Credential], dict[str, Server]]:
    """Two databases under the same keys: the same 1,000 PATs in both, and in the large one
    `stored` tokens in all (a user's whose secrets nobody keeps)."""
    started = time.monotonic()
    users, per_user = STORED_AB_PATS
    names = [f"bench{u}" for u in range(users)]
    pats = new_pats(names, per_user)
    servers: dict[str, Server] = {}
    credentials: list[Credential] = []
    for size in ("small", "large"):
        name, port = f"regauth-w1-{size}", free_port()
        config = write_config(
            data_dir, name=name, port=port, workers=1, database=f"regauth-{size}.db"
        )
        for user in [*names, "filler"]:
            create_user(config, user)
        credentials = insert_pats(config, pats)
        if size == "large":
            add_stored_tokens(config, "filler", max(0, stored - len(pats)))
        servers[name] = pool.start(
            name,
            serve_command(config),
            log_path=data_dir / f"{name}.log",
            port=port,
            env=clean_env(),
        )
    write_credentials(data_dir / CREDENTIALS_FILES["pats"], credentials)
    for server in servers.values():
        server.wait_ready()
    print(
        f"setup: {len(pats)} PATs in both databases, {max(stored, len(pats)):,} tokens stored "
        f"in the large one, in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return credentials, servers


def make_credentials(data_dir: Path, args: argparse.Namespace) -> list[Credential]:
    started = time.monotonic()
    config = write_config(data_dir, name="setup", port=free_port(), workers=1)
    credentials = create_credentials(config, users=args.users, tokens_per_user=args.tokens_per_user)
    write_credentials(data_dir / CREDENTIALS_FILES["pats"], credentials)
    passwords = []
    for u in range(args.password_users):
        user, password = f"pw{u}", f"bench-password-{u}-{os.urandom(8).hex()}"
        create_password_user(config, user, password)
        passwords.append(Credential(user, password))
    write_credentials(data_dir / CREDENTIALS_FILES["passwords"], passwords)
    print(
        f"setup: {len(credentials)} PATs, {len(passwords)} password users "
        f"in {time.monotonic() - started:.1f} s",
        flush=True,
    )
    return credentials


def check_servers(servers: dict[str, Server], credentials: list[Credential]) -> dict[str, Any]:
    """Real tokens with the asked access, and a 401 for a wrong PAT, before any load."""
    checks = {
        name: check_token_endpoint(server.url, credentials[0])
        for name, server in servers.items()
        if name != "hello"
    }
    for name, summary in checks.items():
        print(
            f"check {name}: access={json.dumps(summary['access'])} "
            f"aud={summary['aud']} ttl={summary['ttl']} jwt={summary['jwt_bytes']} B"
        )
    check_refusals(servers, credentials, after_load=False)
    return checks


def check_refusals(
    servers: dict[str, Server], credentials: list[Credential], *, after_load: bool
) -> None:
    """Another user's PAT gets a 401. A refusal stays on record (the throttle counts it for
    an hour): before the load only where that state is measured ("-failed"), after the load
    everywhere else, so that the other runs measure a service in its fresh state."""
    names = [n for n in servers if n.startswith("regauth") and n.endswith("-failed") != after_load]
    for name in names:
        check_foreign_pat_refused(servers[name].url, credentials[0].user, credentials[-1])
    when = "after the load" if after_load else "before the load"
    print(f"check: another user's PAT -> 401 on {', '.join(names) or 'none'} ({when})", flush=True)


def print_report(
    runs: dict[str, list[RunResult]], reps: int
) -> tuple[list[Summary], list[Ratio], list[Ratio]]:
    summaries = [summarize(s, runs[s.key]) for s in SCENARIOS]
    goals, context = targets(runs), context_ratios(runs)
    print()
    print(render_summaries(summaries))
    print()
    print(render_ratios(goals + context, reps))
    overhead = _cpu_overhead(summaries)
    if overhead is not None:
        print(f"\nregauth w1 costs {overhead:.0f} µs more server CPU per request than sign-only.")
    busiest = max(r.other_cores for rs in runs.values() for r in rs)
    if busiest > DISTURBED_CORES:
        print(
            f"warning: other processes used up to {busiest:.2f} cores during the runs; "
            "throughput and the workers ratio are unreliable (CPU µs/req less so)."
        )
    return summaries, goals, context


def _cpu_overhead(summaries: list[Summary]) -> float | None:
    by_key = {s.scenario: s.cpu_us_per_req for s in summaries}
    off = by_key.get("token-w1-metrics-off")
    if off is not None:  # --metrics-ab
        on = by_key.get("token-w1-unique")
        if on is not None:
            print(f"\nmetrics cost {on - off:.1f} µs of server CPU per request (1 worker).")
        return None
    token, sign = by_key.get("token-w1-unique"), by_key.get("sign-only")
    return token - sign if token is not None and sign is not None else None


def _raise_on_sigterm(_signum: int, _frame: FrameType | None) -> None:
    # Treat `kill` like Ctrl-C: the exception unwinds the ExitStack, which stops every server.
    raise KeyboardInterrupt


def run_benchmark(bench: Callable[[argparse.Namespace], int], args: argparse.Namespace) -> int:
    """`bench(args)` with the benches' exit codes: 1 when it broke, 130 when interrupted (by
    Ctrl-C or `kill`, every server stopped on the way out)."""
    signal.signal(signal.SIGTERM, _raise_on_sigterm)
    try:
        return bench(args)
    except (BenchError, WrkError) as exc:
        print(f"benchmark broken: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("interrupted; servers stopped", file=sys.stderr)
        return 130


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(benchmark, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
