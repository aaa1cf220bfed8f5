"""Load benchmark of regauth on PostgreSQL, in one round-robin run: one worker on PostgreSQL
against SQLite, two replicas against one, and /token's p99 while an admin loop writes.

Usage: .venv/bin/python bench/replicas.py [--duration 6] [--reps 4] [--connections 32]
           [--admin-clients 1] [--throttle active|quiet] [--wrk-policy batch|normal]

Configs (each `regauth serve` with workers = 1, the same config but for [storage]):
  sqlite-1    one worker on SQLite                      } the load of run.py's token-w1-unique:
  pg-1        one replica on PostgreSQL                 } a different repository in the
  pg-2        two replicas on one PostgreSQL database   } user's namespace every request, over
  pg-1-admin  pg-1 while bench/admin_loop.py creates    } 8 users x 4 PATs, 32 connections
              and deletes tokens over HTTP, as fast as one client can, on the same replica
Targets: pg-1 / sqlite-1 >= 0.9 (req/s), pg-2 / pg-1 >= 1.7 (req/s), p99 of pg-1-admin <= 2 x
p99 of pg-1, zero errors; each ratio within a rep, the median over the reps.

Two replicas are driven by two wrk processes, one per replica with half the connections each,
their req/s summed, not through HAProxy: on a 2-core machine a balancer in the path takes CPU
from the replicas (about as much as wrk again: it parses every request and response) that a
balancer on its own machine would not, and the target is about replicas sharing one database,
not about a proxy. A balancer keeps its connections to each replica open; so does each wrk.
The two wrk reports cannot be merged into one histogram: the p99 shown is the worse of the two.

PostgreSQL runs on the same two cores as regauth and wrk, so every run reports the CPU each
/token cost regauth and PostgreSQL (its whole process tree, backends included) per request.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import resource
import secrets
import select
import signal
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from importlib import metadata
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, Any

from checks import check_foreign_pat_refused, check_token_endpoint
from procstat import (
    MIB,
    RssPeak,
    cpu_seconds,
    machine_busy_seconds,
    preemptions,
    rss_bytes,
    tree_cpu_seconds,
)
from regauth_fixture import (
    Credential,
    clean_env,
    create_password_user,
    create_user_credentials,
    serve_command,
    write_credentials,
)
from report import (
    DISTURBED_CORES,
    Ratio,
    RunResult,
    _median,
    _num,
    _table,
    errors_target,
    p99_ratio,
    render_ratios,
    throughput_ratio,
)
from run import environment, run_benchmark, wait_until_quiet
from servers import BenchError, Server, ServerPool, free_port
from wrk import (
    WRK_POLICIES,
    WrkResult,
    policy_prefix,
    run_wrk_together,
    wait_for_wrk,
    wrk_command,
)

if TYPE_CHECKING:
    from tests.support.postgres import PostgresServer

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
LUA_SCRIPT = BENCH_DIR / "token.lua"
ADMIN_LOOP = BENCH_DIR / "admin_loop.py"
RESULTS_DIR = BENCH_DIR / "results"
WARMUP_S = 2.0
LOOP_USER = "looper"  # the admin loop's account: never used at /token
LOOP_READY_TIMEOUT_S = 30.0
SETUP_PARALLELISM = 3

SQLITE, POSTGRES = "sqlite", "postgresql"


@dataclass(frozen=True)
class Config:
    """What one measured run drives: one wrk per server (the connections split evenly)."""

    key: str
    label: str
    servers: tuple[str, ...]
    database: str  # whose credentials the requests carry
    admin_loop: bool = False


# The three target ratios all divide by `pg-1`, so it sits in the middle, next to the two
# throughput ratios' other sides (the host's speed drifts over tens of seconds); the p99 pair
# is one run further apart. Reversed every other rep (ABBA), as in run.py.
CONFIGS = [
    Config("sqlite-1", "1 worker on SQLite", ("sqlite",), SQLITE),
    Config("pg-1", "1 replica on PostgreSQL", ("pg-a",), POSTGRES),
    Config("pg-2", "2 replicas on PostgreSQL (a wrk each)", ("pg-a", "pg-b"), POSTGRES),
    Config("pg-1-admin", "1 replica on PostgreSQL + admin loop", ("pg-a",), POSTGRES, True),
]


@dataclass(frozen=True)
class ReplicaRun(RunResult):
    """A run of run.py's shape (server = regauth's processes, every replica under load), plus
    the database's CPU, each replica's share and the admin loop."""

    db_cpu_us_per_req: float = 0.0  # PostgreSQL's whole process tree (0 on SQLite: in-process)
    db_cores: float = 0.0
    replica_rps: tuple[float, ...] = ()
    replica_p99_ms: tuple[float, ...] = ()
    loop_ops: int = 0  # admin API requests (creations + deletions) ended inside the window
    loop_ops_per_s: float = 0.0
    loop_p50_ms: float | None = None
    loop_p99_ms: float | None = None
    loop_cores: float = 0.0
    loop_errors: int = 0  # over the loop's whole life, warm-up included
    db_log_errors: int = 0  # ERROR/FATAL lines PostgreSQL logged during the run (informational)

    @property
    def errors(self) -> int:
        return self.socket_errors + self.non_2xx + self.server_log_errors + self.loop_errors

    @property
    def total_cpu_us_per_req(self) -> float:
        return self.server_cpu_us_per_req + self.db_cpu_us_per_req


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per measured run")
    parser.add_argument("--reps", type=int, default=4, help="round-robin repetitions (even: ABBA)")
    parser.add_argument(
        "--connections", type=int, default=32, help="wrk connections in all (split per replica)"
    )
    parser.add_argument("--users", type=int, default=8, help="users to create (>= 2)")
    parser.add_argument("--tokens-per-user", type=int, default=4, help="PATs per user")
    parser.add_argument(
        "--admin-clients", type=int, default=1, help="admin loops, one request at a time each"
    )
    parser.add_argument(
        "--throttle",
        choices=("active", "quiet"),
        default="active",
        help="active (default): the checks' 401s leave failed sign-ins in every throttle, as "
        "in any real deployment; quiet: no failed sign-in, so the throttle is never consulted",
    )
    parser.add_argument(
        "--max-wait-quiet",
        type=float,
        default=10.0,
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
    args = parser.parse_args(argv)
    if args.duration <= 0 or args.reps < 1 or args.connections < 2 or args.admin_clients < 1:
        parser.error("--duration, --reps and --admin-clients must be positive, --connections >= 2")
    if args.users < 2 or args.tokens_per_user < 1:
        parser.error("--users must be >= 2 and --tokens-per-user >= 1")
    return args


# --- PostgreSQL and the deployments ---------------------------------------------------------


def start_postgres() -> PostgresServer:
    """A throwaway PostgreSQL: the bench borrows the test harness's server
    (tests/support/postgres.py: Debian's postgresql in its own data dir on a free loopback
    port, run as `postgres` when we are root, with the tests' settings: fsync off, so commits
    cost less than on a durable server; see bench/README.md)."""
    if str(REPO_DIR) not in sys.path:
        sys.path.append(str(REPO_DIR))  # after bench/ itself, which must stay first
    from tests.e2e.harness.processes import HarnessError
    from tests.support.postgres import PostgresUnavailable
    from tests.support.postgres import start_postgres as start

    try:
        return start()
    except (PostgresUnavailable, HarnessError) as exc:
        raise BenchError(f"no PostgreSQL to benchmark against: {exc}") from exc


def postmaster_pid(postgres: PostgresServer) -> int:
    # Line 1 of postmaster.pid; its process tree is every backend and background worker.
    return int((postgres.data_dir / "postmaster.pid").read_text().splitlines()[0])


def write_regauth_config(
    path: Path,
    *,
    port: int,
    data_dir: Path,
    keys_dir: Path,
    postgres_url: str = "",
    password_file: Path | None = None,
) -> Path:
    """The same config for every server but the storage: one worker, run.py's token settings,
    and no creation limit for the admin loop (it creates and deletes for minutes)."""
    data_dir.mkdir(parents=True, exist_ok=True)
    storage = [f'path = "{data_dir / "regauth.db"}"']
    if postgres_url:
        storage += [f'url = "{postgres_url}"', f'password_file = "{password_file}"']
    path.write_text(
        "\n".join(
            [
                "[server]",
                f'listen = "127.0.0.1:{port}"',
                f'public_url = "http://127.0.0.1:{port}"',
                "workers = 1",
                "[token]",
                'issuer = "regauth"',
                'service = ["registry"]',
                "ttl_seconds = 300",
                "[storage]",
                *storage,
                "[keys]",
                f'dir = "{keys_dir}"',
                'algorithm = "ES256"',
                "[limits]",
                "token_creations_per_hour = 1000000000",
                "",
            ]
        ),
        encoding="utf-8",
    )
    return path


@dataclass(frozen=True)
class Deployments:
    configs: dict[str, Path]  # server name -> its config
    ports: dict[str, int]  # server name -> the port it listens on
    credentials: dict[str, list[Credential]]  # database -> PATs
    credential_files: dict[str, Path]
    loop_password_file: Path


def make_deployments(root: Path, postgres: PostgresServer, args: argparse.Namespace) -> Deployments:
    """SQLite in its own folder; two PostgreSQL replicas, each with its own folder (this host's
    files) and one database; one [keys] dir for all three (replicas must share it)."""
    started = time.monotonic()
    keys_dir = root / "keys"
    password_file = root / "pg-password"
    password_file.write_text(postgres.password + "\n")
    password_file.chmod(0o600)
    # The password from the file, as the README advises, not in the URL.
    url = f"postgresql://regauth@127.0.0.1:{postgres.port}/regauth"
    ports = {name: free_port() for name in ("sqlite", "pg-a", "pg-b")}
    configs = {
        "sqlite": write_regauth_config(
            root / "sqlite.toml", port=ports["sqlite"], data_dir=root / "sqlite", keys_dir=keys_dir
        )
    }
    for name in ("pg-a", "pg-b"):
        configs[name] = write_regauth_config(
            root / f"{name}.toml",
            port=ports[name],
            data_dir=root / name,
            keys_dir=keys_dir,
            postgres_url=url,
            password_file=password_file,
        )
    loop_password_file = root / "loop-password"
    loop_password_file.write_text(secrets.token_urlsafe(18) + "\n")
    loop_password_file.chmod(0o600)
    loop_password = loop_password_file.read_text().strip()
    # Same users, same PATs per user, same order: the same requests on either database. The
    # CLI takes ~0.5 s of CPU a call, mostly Python starting; 2 x (users x (1 + PATs)) calls one after
    # another would take most of a minute, so a few run at once. The first call on each
    # database runs alone: it makes the keys (SQLite's) and records the HMAC secret's
    # fingerprint (PostgreSQL's), which concurrent first calls would race to do.
    databases = {SQLITE: configs["sqlite"], POSTGRES: configs["pg-a"]}
    users = [f"bench{u}" for u in range(args.users)]
    for config in databases.values():
        # The first call, alone; the loop's account on SQLite too, so both hold the same users.
        create_password_user(config, LOOP_USER, loop_password)
    with ThreadPoolExecutor(max_workers=SETUP_PARALLELISM) as pool:
        jobs = {
            (database, user): pool.submit(
                create_user_credentials, config, user, args.tokens_per_user
            )
            for database, config in databases.items()
            for user in users
        }
        credentials = {
            database: [c for user in users for c in jobs[database, user].result()]
            for database in databases
        }
    files = {
        database: write_credentials(root / f"credentials-{database}.tsv", found)
        for database, found in credentials.items()
    }
    count = sum(len(c) for c in credentials.values())
    print(f"setup: {count} PATs, 3 configs in {time.monotonic() - started:.1f} s", flush=True)
    return Deployments(configs, ports, credentials, files, loop_password_file)


def start_servers(pool: ServerPool, deployments: Deployments, log_dir: Path) -> dict[str, Server]:
    servers: dict[str, Server] = {}
    for name, config in deployments.configs.items():
        servers[name] = pool.start(
            name,
            serve_command(config),
            log_path=log_dir / f"{name}.log",
            port=deployments.ports[name],
            env=clean_env(),
        )
    for server in servers.values():
        server.wait_ready()
    return servers


def check_servers(
    servers: dict[str, Server], deployments: Deployments, *, failures: bool
) -> dict[str, Any]:
    """Real tokens with the asked access from every server, a 401 for another user's PAT, and
    each database's PATs refused by the other: the replicas share PostgreSQL, SQLite is apart.

    The 401s also leave a failed sign-in in each throttle for the rest of the run, as run.py's
    check does: the state of any real deployment, where someone fails (or signs in with a
    password: on PostgreSQL that counts too) now and then. `--throttle quiet` skips them."""
    checks: dict[str, Any] = {}
    for name, server in servers.items():
        database = SQLITE if name == "sqlite" else POSTGRES
        mine = deployments.credentials[database]
        other = deployments.credentials[POSTGRES if database == SQLITE else SQLITE]
        checks[name] = check_token_endpoint(server.url, mine[0])
        if failures:
            check_foreign_pat_refused(server.url, mine[0].user, mine[-1])
            check_foreign_pat_refused(server.url, other[0].user, other[0])
        print(
            f"check {name}: access={json.dumps(checks[name]['access'])} "
            f"ttl={checks[name]['ttl']} jwt={checks[name]['jwt_bytes']} B"
            + ("; another user's PAT and the other database's PAT -> 401" if failures else ""),
            flush=True,
        )
    return checks


# --- the admin loop -------------------------------------------------------------------------


class AdminLoop:
    """bench/admin_loop.py as a child process: started, waited for until it has created and
    deleted one token, and stopped (SIGTERM) after the measured window, handing back its ops."""

    def __init__(self, url: str, password_file: Path, clients: int, log_path: Path) -> None:
        self._command = [
            sys.executable,
            str(ADMIN_LOOP),
            url,
            LOOP_USER,
            str(password_file),
            "--clients",
            str(clients),
        ]
        self._log_path = log_path
        self._process: subprocess.Popen[str] | None = None
        self.ops: list[list[Any]] = []
        self.errors: list[str] = []

    @property
    def pid(self) -> int:
        assert self._process is not None
        return self._process.pid

    def __enter__(self) -> AdminLoop:
        with self._log_path.open("ab") as log:
            self._process = subprocess.Popen(
                self._command,
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                start_new_session=True,
            )
        assert self._process.stdout is not None
        ready, _, _ = select.select([self._process.stdout], [], [], LOOP_READY_TIMEOUT_S)
        line = self._process.stdout.readline() if ready else ""
        if line.strip() != "ready":
            self.stop()
            raise BenchError(f"admin loop not ready: {line.strip() or '(nothing)'} {self.errors}")
        return self

    def stop(self) -> None:
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
        try:
            out, _ = process.communicate(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            out, _ = process.communicate()
        for line in out.splitlines():
            if line.startswith("{"):
                report = json.loads(line)
                self.ops, self.errors = report["ops"], report["errors"]

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()


# --- one measured run -----------------------------------------------------------------------


@dataclass
class Snapshot:
    """Counters read just before and just after the measured load (all cumulative)."""

    wall: float
    machine: float
    children: float  # reaped children: the wrk processes of this run
    regauth: float  # the servers under load
    all_servers: float  # every regauth server, idle ones too (they are ours, not other load)
    preempted: int
    db: float
    loop: float

    @classmethod
    def take(
        cls, load_pids: list[int], all_pids: list[int], db_pid: int, loop_pid: int | None
    ) -> Snapshot:
        return cls(
            wall=time.monotonic(),
            machine=machine_busy_seconds(),
            children=_children_cpu(),
            regauth=cpu_seconds(load_pids),
            all_servers=cpu_seconds(all_pids),
            preempted=preemptions(load_pids),
            db=tree_cpu_seconds(db_pid),
            loop=tree_cpu_seconds(loop_pid) if loop_pid is not None else 0.0,
        )


def _children_cpu() -> float:
    # Only wrk is reaped during a run (the admin loop after it, the servers at the end).
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def split_connections(total: int, parts: int) -> list[int]:
    return [total // parts + (1 if i < total % parts else 0) for i in range(parts)]


def measure(
    config: Config,
    servers: dict[str, Server],
    *,
    postgres: PostgresServer,
    deployments: Deployments,
    rep: int,
    index: int,
    args: argparse.Namespace,
    log_dir: Path,
) -> ReplicaRun:
    targets = [servers[name] for name in config.servers]
    for server in servers.values():
        server.check_alive()
    connections = split_connections(args.connections, len(targets))
    credentials = deployments.credential_files[config.database]

    def load(duration_s: float, nonce: str) -> list[WrkResult]:
        commands = [
            wrk_command(
                f"{server.url}/token",
                script=LUA_SCRIPT,
                script_args=[str(credentials), "unique", f"{nonce}p{i}"],
                duration_s=duration_s,
                connections=n,
                policy=args.wrk_policy,
            )
            for i, (server, n) in enumerate(zip(targets, connections, strict=True))
        ]
        return run_wrk_together(commands, duration_s)

    db_pid = postmaster_pid(postgres)
    with ExitStack() as stack:
        loop = None
        if config.admin_loop:
            loop = stack.enter_context(
                AdminLoop(
                    targets[0].url,
                    deployments.loop_password_file,
                    args.admin_clients,
                    log_dir / "admin-loop.log",
                )
            )
        load(WARMUP_S, f"{rep}c{index}w")  # discarded: connections, caches, lazy imports
        for server in servers.values():
            server.take_log()
        db_log_start = postgres.log_path.stat().st_size
        load_pids = [pid for server in targets for pid in server.pids()]
        all_pids = [pid for server in servers.values() for pid in server.pids()]
        loop_pid = loop.pid if loop is not None else None
        rss_idle = rss_bytes(load_pids)
        before = Snapshot.take(load_pids, all_pids, db_pid, loop_pid)
        with RssPeak(load_pids) as rss:
            results = load(args.duration, f"{rep}c{index}")
        after = Snapshot.take(load_pids, all_pids, db_pid, loop_pid)
        if loop is not None:
            loop.stop()
    for server in servers.values():
        server.check_alive()
    log_bytes = log_errors = 0
    for server in servers.values():
        size, errors = server.take_log()
        log_bytes += size if server in targets else 0
        log_errors += errors
    db_log_errors = _db_log_errors(postgres, db_log_start)

    wall = after.wall - before.wall
    requests = sum(r.requests for r in results)
    per_req = 1e6 / max(requests, 1)
    regauth_cpu = after.regauth - before.regauth
    db_cpu = after.db - before.db
    loop_cpu = after.loop - before.loop
    wrk_cpu = after.children - before.children
    ours = (after.all_servers - before.all_servers) + db_cpu + loop_cpu + wrk_cpu
    other = (after.machine - before.machine) - ours
    window_ops = [op for op in (loop.ops if loop else []) if before.wall <= op[0] <= after.wall]
    latencies = sorted(op[1] * 1000 for op in window_ops)
    return ReplicaRun(
        scenario=config.key,
        rep=rep,
        requests=requests,
        duration_s=max(r.duration_s for r in results),
        rps=sum(r.rps for r in results),
        # Two wrk reports cannot be merged into one histogram: the request-weighted p50 and
        # the worse of the two p99s (the conservative side).
        p50_ms=sum(r.p50_ms * r.requests for r in results) / max(requests, 1),
        p99_ms=max(r.p99_ms for r in results),
        socket_errors=sum(r.socket_errors for r in results),
        non_2xx=sum(r.non_2xx for r in results),
        server_log_errors=log_errors,
        server_cpu_us_per_req=regauth_cpu * per_req,
        server_cores=regauth_cpu / wall,
        server_preemptions_per_kreq=(after.preempted - before.preempted) * 1000 / max(requests, 1),
        wrk_cores=wrk_cpu / wall,
        other_cores=max(other, 0.0) / wall,
        rss_idle_mib=rss_idle / MIB,
        rss_peak_mib=rss.peak / MIB,
        log_bytes_per_req=log_bytes / max(requests, 1),
        db_cpu_us_per_req=db_cpu * per_req,
        db_cores=db_cpu / wall,
        replica_rps=tuple(r.rps for r in results),
        replica_p99_ms=tuple(r.p99_ms for r in results),
        loop_ops=len(window_ops),
        loop_ops_per_s=len(window_ops) / wall,
        loop_p50_ms=_percentile(latencies, 0.50),
        loop_p99_ms=_percentile(latencies, 0.99),
        loop_cores=loop_cpu / wall,
        loop_errors=(len(loop.errors) if loop else 0)
        + sum(1 for op in (loop.ops if loop else []) if op[2] not in (201, 204)),
        db_log_errors=db_log_errors,
    )


def _percentile(sorted_values: Sequence[float], q: float) -> float | None:
    if not sorted_values:
        return None
    return sorted_values[min(len(sorted_values) - 1, int(q * len(sorted_values)))]


def _db_log_errors(postgres: PostgresServer, start: int) -> int:
    with postgres.log_path.open("rb") as log:
        log.seek(start)
        text = log.read()
    return text.count(b" ERROR: ") + text.count(b" FATAL: ")


def chosen_configs(args: argparse.Namespace) -> list[Config]:
    """All of them; with --throttle quiet, not the admin loop: its password sign-in (a
    reservation in the throttle, on PostgreSQL written to the database) would make the
    throttle active for the hour, for every config after it."""
    if args.throttle == "quiet":
        return [c for c in CONFIGS if not c.admin_loop]
    return list(CONFIGS)


def rep_order(configs: list[Config], rep: int) -> list[tuple[int, Config]]:
    order = list(enumerate(configs))
    return order if rep % 2 == 1 else order[::-1]


def run_round_robin(
    servers: dict[str, Server],
    *,
    postgres: PostgresServer,
    deployments: Deployments,
    args: argparse.Namespace,
    log_dir: Path,
) -> dict[str, list[ReplicaRun]]:
    configs = chosen_configs(args)
    runs: dict[str, list[ReplicaRun]] = {c.key: [] for c in configs}
    for rep in range(1, args.reps + 1):
        for index, config in rep_order(configs, rep):
            wait_until_quiet(args.max_wait_quiet)
            run = measure(
                config,
                servers,
                postgres=postgres,
                deployments=deployments,
                rep=rep,
                index=index,
                args=args,
                log_dir=log_dir,
            )
            runs[config.key].append(run)
            flag = "" if run.ok else f"  FAILED: {run.errors} errors"
            extra = ""
            if len(run.replica_rps) > 1:
                extra = "  split " + "/".join(f"{r:,.0f}" for r in run.replica_rps)
            if config.admin_loop:
                extra = (
                    f"  admin {run.loop_ops_per_s:5.0f} ops/s (p50 {_num(run.loop_p50_ms, 1)} ms)"
                )
            print(
                f"  rep {rep} {config.key:<11} {run.rps:>8,.0f} req/s  "
                f"p50 {run.p50_ms:5.2f} ms  p99 {run.p99_ms:6.2f} ms  "
                f"CPU/req regauth {run.server_cpu_us_per_req:4.0f} + PG "
                f"{run.db_cpu_us_per_req:4.0f} µs  "
                f"other load {run.other_cores:4.2f} cores{extra}{flag}",
                flush=True,
            )
    return runs


# --- results --------------------------------------------------------------------------------


def targets(runs: dict[str, list[ReplicaRun]]) -> list[Ratio]:
    as_base: dict[str, list[RunResult]] = {k: list(v) for k, v in runs.items()}
    goals = [
        throughput_ratio(
            "pg_vs_sqlite", "1 worker: PostgreSQL ÷ SQLite", as_base, "pg-1", "sqlite-1", 0.9
        ),
        throughput_ratio(
            "two_vs_one", "2 replicas ÷ 1 replica (PostgreSQL)", as_base, "pg-2", "pg-1", 1.7
        ),
    ]
    if "pg-1-admin" in runs:
        goals.append(
            p99_ratio("admin_p99", "p99 with admin loop ÷ without", runs, "pg-1-admin", "pg-1", 2)
        )
    return [*goals, errors_target(as_base)]


def context_ratios(runs: dict[str, list[ReplicaRun]]) -> list[Ratio]:
    as_base: dict[str, list[RunResult]] = {k: list(v) for k, v in runs.items()}
    if "pg-1-admin" not in runs:
        return []
    return [
        throughput_ratio(
            "admin_rps", "req/s with admin loop ÷ without", as_base, "pg-1-admin", "pg-1"
        ),
    ]


@dataclass(frozen=True)
class ConfigSummary:
    key: str
    label: str
    runs: int
    failed_runs: int
    errors: int
    rps_median: float | None
    rps_min: float | None
    rps_max: float | None
    p50_ms: float | None
    p99_ms: float | None
    regauth_cpu_us_per_req: float | None
    db_cpu_us_per_req: float | None
    total_cpu_us_per_req: float | None
    regauth_cores: float | None
    db_cores: float | None
    wrk_cores: float | None
    other_cores: float | None
    preemptions_per_kreq: float | None
    rss_peak_mib: float | None
    replica_rps: list[float | None]
    loop_ops_per_s: float | None
    loop_p50_ms: float | None
    loop_p99_ms: float | None
    loop_cores: float | None


def summarize(config: Config, runs: Sequence[ReplicaRun]) -> ConfigSummary:
    good = [r for r in runs if r.ok]

    def med(values: Iterator[float | None]) -> float | None:
        return _median([v for v in values if v is not None])

    parts = max((len(r.replica_rps) for r in good), default=0)
    loop = config.admin_loop
    return ConfigSummary(
        key=config.key,
        label=config.label,
        runs=len(runs),
        failed_runs=len(runs) - len(good),
        errors=sum(r.errors for r in runs),
        rps_median=med(r.rps for r in good),
        rps_min=min((r.rps for r in good), default=None),
        rps_max=max((r.rps for r in good), default=None),
        p50_ms=med(r.p50_ms for r in good),
        p99_ms=med(r.p99_ms for r in good),
        regauth_cpu_us_per_req=med(r.server_cpu_us_per_req for r in good),
        db_cpu_us_per_req=med(r.db_cpu_us_per_req for r in good),
        total_cpu_us_per_req=med(r.total_cpu_us_per_req for r in good),
        regauth_cores=med(r.server_cores for r in good),
        db_cores=med(r.db_cores for r in good),
        wrk_cores=med(r.wrk_cores for r in good),
        other_cores=med(r.other_cores for r in runs),
        preemptions_per_kreq=med(r.server_preemptions_per_kreq for r in good),
        rss_peak_mib=max((r.rss_peak_mib for r in runs), default=None),
        replica_rps=[med(r.replica_rps[i] for r in good) for i in range(parts)]
        if parts > 1
        else [],
        loop_ops_per_s=med(r.loop_ops_per_s for r in good) if loop else None,
        loop_p50_ms=med(r.loop_p50_ms for r in good) if loop else None,
        loop_p99_ms=med(r.loop_p99_ms for r in good) if loop else None,
        loop_cores=med(r.loop_cores for r in good) if loop else None,
    )


def render_summaries(summaries: Sequence[ConfigSummary]) -> str:
    header = [
        "config",
        "req/s median (min-max)",
        "p50 ms",
        "p99 ms",
        "CPU µs/req regauth + PG = total",
        "regauth cores",
        "PG cores",
        "wrk cores",
        "other cores",
        "preempted /1k req",
        "RSS peak MiB",
        "errors",
    ]
    rows = [
        [
            s.label,
            f"{_num(s.rps_median)} ({_num(s.rps_min)}-{_num(s.rps_max)})",
            _num(s.p50_ms, 2),
            _num(s.p99_ms, 2),
            f"{_num(s.regauth_cpu_us_per_req)} + {_num(s.db_cpu_us_per_req)} = "
            f"{_num(s.total_cpu_us_per_req)}",
            _num(s.regauth_cores, 2),
            _num(s.db_cores, 2),
            _num(s.wrk_cores, 2),
            _num(s.other_cores, 2),
            _num(s.preemptions_per_kreq),
            _num(s.rss_peak_mib),
            f"{s.errors}" + (f" ({s.failed_runs} failed runs)" if s.failed_runs else ""),
        ]
        for s in summaries
    ]
    return _table(header, rows)


def print_report(
    runs: dict[str, list[ReplicaRun]], reps: int
) -> tuple[list[ConfigSummary], list[Ratio], list[Ratio]]:
    summaries = [summarize(c, runs[c.key]) for c in CONFIGS if c.key in runs]
    goals, context = targets(runs), context_ratios(runs)
    print()
    print(render_summaries(summaries))
    for s in summaries:
        if s.replica_rps:
            split = " + ".join(_num(r) for r in s.replica_rps)
            print(f"\n{s.label}: {split} req/s (median of each replica's wrk)")
        if s.loop_ops_per_s is not None:
            print(
                f"\nadmin loop ({LOOP_USER}, POST + DELETE /v2/access-tokens over HTTP, same "
                f"replica): {_num(s.loop_ops_per_s)} requests/s, p50 {_num(s.loop_p50_ms, 1)} "
                f"ms, p99 {_num(s.loop_p99_ms, 1)} ms, {_num(s.loop_cores, 2)} cores of its own"
            )
    print()
    print(render_ratios(goals + context, reps))
    busiest = max(r.other_cores for rs in runs.values() for r in rs)
    if busiest > DISTURBED_CORES:
        print(
            f"warning: other processes used up to {busiest:.2f} cores during the runs; "
            "throughput and the replicas ratio are unreliable (CPU µs/req less so)."
        )
    db_errors = sum(r.db_log_errors for rs in runs.values() for r in rs)
    if db_errors:
        print(f"note: PostgreSQL logged {db_errors} ERROR/FATAL lines during the runs")
    return summaries, goals, context


def postgres_environment(postgres: PostgresServer) -> dict[str, Any]:
    version = subprocess.run(
        [str(postgres.bindir / "postgres"), "--version"],
        capture_output=True,
        text=True,
        check=False,
    ).stdout.strip()
    from tests.support.postgres import SETTINGS

    return {"version": version, "settings": dict(SETTINGS)}


def write_json(payload: dict[str, Any]) -> Path:
    RESULTS_DIR.mkdir(exist_ok=True)
    path = RESULTS_DIR / f"replicas-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    path.write_text(json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
    return path


@contextmanager
def throwaway_postgres() -> Iterator[PostgresServer]:
    postgres = start_postgres()
    try:
        yield postgres
    finally:
        postgres.close()


def benchmark(args: argparse.Namespace) -> int:
    wait_for_wrk(args.wait_for_wrk)
    policy_prefix(args.wrk_policy)
    started_at = datetime.now(UTC).isoformat(timespec="seconds")
    env = environment()
    for package in ("psycopg", "psycopg-pool"):
        try:
            env["packages"][package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            env["packages"][package] = None
    print(
        f"regauth replicas bench: {args.reps} reps x {len(chosen_configs(args))} configs, "
        f"{args.duration:g} s each (+{WARMUP_S:g} s warm-up), wrk -t1 -c{args.connections} "
        f"in all ({args.wrk_policy} scheduling), {args.admin_clients} admin loop client(s); "
        f"{env['cpus']} CPUs, uvloop {env['packages']['uvloop'] or 'absent'}",
        flush=True,
    )
    with ExitStack() as stack:
        root = Path(stack.enter_context(tempfile.TemporaryDirectory(prefix="regauth-replicas-")))
        log_dir = root / "logs"
        log_dir.mkdir()
        started = time.monotonic()
        postgres = stack.enter_context(throwaway_postgres())
        env["postgresql"] = postgres_environment(postgres)
        print(
            f"postgres: {env['postgresql']['version']} on 127.0.0.1:{postgres.port} "
            f"({time.monotonic() - started:.1f} s)",
            flush=True,
        )
        deployments = make_deployments(root, postgres, args)
        servers = start_servers(stack.enter_context(ServerPool()), deployments, log_dir)
        checks = check_servers(servers, deployments, failures=args.throttle == "active")
        runs = run_round_robin(
            servers, postgres=postgres, deployments=deployments, args=args, log_dir=log_dir
        )
    summaries, goals, context = print_report(runs, args.reps)
    path = write_json(
        {
            "started_at": started_at,
            "args": vars(args),
            "environment": env,
            "checks": checks,
            "configs": [dataclasses.asdict(c) for c in chosen_configs(args)],
            "runs": [
                {**dataclasses.asdict(r), "total_cpu_us_per_req": r.total_cpu_us_per_req}
                for rs in runs.values()
                for r in rs
            ],
            "summaries": [dataclasses.asdict(s) for s in summaries],
            "targets": [dataclasses.asdict(r) for r in goals],
            "context_ratios": [dataclasses.asdict(r) for r in context],
        }
    )
    print(f"results: {path}")
    return 0


def main(argv: list[str] | None = None) -> int:
    return run_benchmark(benchmark, parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
