"""The store's cost of one last-use flush: N tokens' last uses written by `record_token_uses`, on
SQLite and on PostgreSQL (the test harness's throwaway server, fsync off), the store alone, in
this process, no load beside it.

Usage: .venv/bin/python bench/last_use_writes.py [--tokens 1000] [--reps 15]
No target: it says what a flush costs each database (the median and the fastest of the reps,
each rep a newer use of every token, so every row is written).
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

from replicas import REPO_DIR, start_postgres
from run import run_benchmark

from regauth.domain.models import TokenUse
from regauth.store.base import Store
from regauth.store.postgres.store import PostgresStore
from regauth.store.sqlite.store import SQLiteStore


def _fill(store: Store, tokens: int) -> list[str]:
    from tests.service.test_store import make_token  # the store contract's own token row

    user = store.create_user("alice", None, is_admin=False, now=5)
    ids = [f"t{i:09d}" for i in range(tokens)]
    for token_id in ids:
        make_token(store, user.id, token_id)
    return ids


def _flushes(store: Store, ids: list[str], reps: int) -> list[float]:
    took = []
    for rep in range(reps):
        uses = {t: TokenUse(1000 + rep, "10.0.0.1", "docker/27.3.1 go/go1.22.7") for t in ids}
        started = time.perf_counter()
        store.record_token_uses(uses)
        took.append(time.perf_counter() - started)
    return took


def benchmark(args: argparse.Namespace) -> int:
    if str(REPO_DIR) not in sys.path:
        sys.path.append(str(REPO_DIR))  # for tests/, after bench/ itself
    results = {}
    with tempfile.TemporaryDirectory(prefix="regauth-last-use-") as data:
        sqlite = SQLiteStore(Path(data) / "regauth.db")
        try:
            results["SQLite"] = _flushes(sqlite, _fill(sqlite, args.tokens), args.reps)
        finally:
            sqlite.close()
    server = start_postgres()
    try:
        postgres = PostgresStore(server.url, pool_size=2, migrate=True)
        try:
            results["PostgreSQL"] = _flushes(postgres, _fill(postgres, args.tokens), args.reps)
        finally:
            postgres.close()
    finally:
        server.close()
    for name, took in results.items():
        print(
            f"{args.tokens:,} last uses on {name:<10}: median {statistics.median(took) * 1e3:6.1f}"
            f" ms, fastest {min(took) * 1e3:6.1f} ms ({args.reps} reps)"
        )
    return 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--reps", type=int, default=15)
    return run_benchmark(benchmark, parser.parse_args(argv))


if __name__ == "__main__":
    sys.exit(main())
