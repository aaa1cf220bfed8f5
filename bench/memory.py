"""A worker's memory after concurrent password checks: RSS at rest, after PAT load, and after
bursts of memory-hard password sign-ins (each a distinct user, so each is an argon2id check).

Usage: .venv/bin/python bench/memory.py [--users 8] [--bursts 3] [--pat-seconds 3]
Target: RSS of the worker <= 60 MiB after the bursts (once they are answered).

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
from procstat import MIB, rss_bytes
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
        config = write_config(data_dir, name="memory", port=(port := free_port()), workers=1)
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
        (pid,) = server.pids()
        figures = {"at rest": rss_bytes([pid])}
        _pat_load(server.url, pats, args.pat_seconds)
        figures["after PAT load"] = rss_bytes([pid])
        for b in range(args.bursts):
            started = time.monotonic()
            chunk = passwords[b * args.users : (b + 1) * args.users]
            statuses = asyncio.run(_burst(server.url, chunk))
            if any(s != 200 for s in statuses):
                raise BenchError(f"password sign-ins answered {sorted(set(statuses))}")
            took = time.monotonic() - started
            time.sleep(SETTLE_S)
            figures[f"after password burst {b + 1} ({len(chunk)} at once, {took:.1f} s)"] = (
                rss_bytes([pid])
            )
        server.check_alive()
    for label, value in figures.items():
        print(f"RSS {label:<44} {value / MIB:6.1f} MiB")
    final = list(figures.values())[-1] / MIB
    verdict = "PASS" if final <= RSS_LIMIT_MIB else "FAIL"
    print(f"target: RSS after the bursts <= {RSS_LIMIT_MIB:g} MiB: {final:.1f} MiB {verdict}")
    print(f"growth from the PAT-load figure: {final - figures['after PAT load'] / MIB:+.1f} MiB")
    print(
        f"sign-only reference after the same PAT load: {floor / MIB:.1f} MiB "
        f"(regauth's worker holds {final - floor / MIB:+.1f} MiB more)"
    )
    return 0 if verdict == "PASS" else 1


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
    return run_benchmark(benchmark, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
