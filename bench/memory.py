"""A worker's memory after concurrent password checks: RSS at rest, after PAT load, and after
bursts of memory-hard password sign-ins (each a distinct user, so each is an argon2id check).

Usage: .venv/bin/python bench/memory.py [--users 8] [--bursts 3] [--pat-seconds 3] [--workers 1]
Target: RSS of the worker <= 60 MiB after the bursts (once they are answered); with --workers N,
of the largest worker. Each figure also gives the worker's private memory (USS: what it alone
holds, what one more worker adds) and its proportional share (PSS): a forked worker's RSS
counts in full the pages it shares with the supervisor and the other workers.

The sign-only reference (reference_apps.py: aiohttp, uvloop, cryptography, orjson) gets the
same PAT load first: its RSS is the floor of the stack, what a worker holds before any of
regauth's own code, libraries and state.
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
import time
from pathlib import Path

import aiohttp
from procstat import MIB, private_and_proportional_bytes, rss_bytes
from regauth_fixture import (
    Credential,
    clean_env,
    create_password_user,
    create_user_credentials,
    serve_command,
    write_config,
    write_credentials,
)
from run import LUA_SCRIPT, reference_command, run_benchmark
from servers import BenchError, ServerPool, free_port
from wrk import run_wrk

RSS_LIMIT_MIB = 60.0
SETTLE_S = 1.5  # the worker returns freed heap 0.5-1 s after its last request (server/memory.py)


async def _burst(url: str, credentials: list[Credential]) -> list[int]:
    """Every credential signs in at once: as many argon2id checks as the worker allows."""
    async with aiohttp.ClientSession() as session:

        async def one(credential: Credential) -> int:
            query = f"service=registry&scope=repository:{credential.user}/m:pull"
            headers = {"Authorization": credential.authorization}
            async with session.get(f"{url}/token?{query}", headers=headers) as response:
                await response.read()
                return response.status

        return await asyncio.gather(*(one(c) for c in credentials))


def benchmark(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory(prefix="regauth-memory-") as data, ServerPool() as pool:
        data_dir = Path(data)
        config = write_config(
            data_dir, name="memory", port=(port := free_port()), workers=args.workers
        )
        pats = write_credentials(
            data_dir / "pats.tsv", create_user_credentials(config, "patuser", 4)
        )
        passwords = []
        for i in range(args.users * args.bursts):
            password = f"bench-password-{i}-correct-horse"
            create_password_user(config, f"pw{i}", password)
            passwords.append(Credential(f"pw{i}", password))
        reference_port = free_port()
        reference = pool.start(
            "sign-only",
            reference_command("sign-only", reference_port),
            log_path=data_dir / "sign-only.log",
            port=reference_port,
        )
        reference.wait_ready()
        _pat_load(reference.url, pats, args.pat_seconds)
        floor = rss_bytes(reference.pids())
        reference.stop()
        server = pool.start(
            "memory",
            serve_command(config),
            log_path=data_dir / "memory.log",
            port=port,
            env=clean_env(),
        )
        server.wait_ready()
        workers = _workers(server.pids(), args.workers)
        figures = {"at rest": _figures(workers)}
        _pat_load(server.url, pats, args.pat_seconds)
        figures["after PAT load"] = _figures(workers)
        for b in range(args.bursts):
            started = time.monotonic()
            chunk = passwords[b * args.users : (b + 1) * args.users]
            statuses = asyncio.run(_burst(server.url, chunk))
            if any(s != 200 for s in statuses):
                raise BenchError(f"password sign-ins answered {sorted(set(statuses))}")
            took = time.monotonic() - started
            time.sleep(SETTLE_S)
            figures[f"after password burst {b + 1} ({len(chunk)} at once, {took:.1f} s)"] = (
                _figures(workers)
            )
        server.check_alive()
        supervisor = rss_bytes([pid for pid in server.pids() if pid not in workers])
        in_all = sum(private_and_proportional_bytes(pid)[1] for pid in server.pids())
    which = "largest worker" if args.workers > 1 else "worker"
    print(f"{'':<52} {'RSS':>6} {'USS':>6} {'PSS':>6}  (MiB, the {which})")
    for label, (rss, uss, pss) in figures.items():
        print(f"{label:<52} {rss / MIB:6.1f} {uss / MIB:6.1f} {pss / MIB:6.1f}")
    if supervisor:
        print(f"supervisor RSS {supervisor / MIB:.1f} MiB (not a worker: it answers no request)")
    print(f"the service in all (PSS of every process) after the bursts: {in_all / MIB:.1f} MiB")
    final = list(figures.values())[-1][0] / MIB
    verdict = "PASS" if final <= RSS_LIMIT_MIB else "FAIL"
    print(f"target: RSS after the bursts <= {RSS_LIMIT_MIB:g} MiB: {final:.1f} MiB {verdict}")
    print(f"growth from the PAT-load figure: {final - figures['after PAT load'][0] / MIB:+.1f} MiB")
    print(
        f"sign-only reference after the same PAT load: {floor / MIB:.1f} MiB "
        f"(regauth's worker holds {final - floor / MIB:+.1f} MiB more)"
    )
    return 0 if verdict == "PASS" else 1


def _workers(pids: list[int], expected: int) -> list[int]:
    """The processes that answer requests: the one process, or a supervisor's forked ones."""
    workers = pids if expected == 1 else pids[1:]  # process_tree lists the root first
    if len(workers) != expected:
        raise BenchError(f"expected {expected} serving processes, found {pids}")
    return workers


def _figures(workers: list[int]) -> tuple[int, int, int]:
    """RSS, USS and PSS of the worker with the largest RSS."""
    largest = max(workers, key=lambda pid: rss_bytes([pid]))
    return (rss_bytes([largest]), *private_and_proportional_bytes(largest))


def _pat_load(url: str, pats: Path, seconds: float) -> None:
    run_wrk(
        f"{url}/token",
        script=LUA_SCRIPT,
        script_args=[str(pats), "unique", "m"],
        duration_s=seconds,
        connections=32,
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--users",
        type=int,
        default=8,
        help="password sign-ins per burst (one address may have 1 running + 8 queued)",
    )
    parser.add_argument("--bursts", type=int, default=3)
    parser.add_argument("--pat-seconds", type=float, default=3.0)
    parser.add_argument("--workers", type=int, default=1, help="regauth serve's [server] workers")
    return run_benchmark(benchmark, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
