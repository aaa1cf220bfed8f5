"""What `[metrics] enabled` costs /token inside the process: the real app's middleware and
handler on real data, called without sockets, metrics on and off in the same process,
interleaved (ABBA), CPU time per request. A complement to `run.py --metrics-ab`, whose
throughput ratio also holds HTTP, wrk and the host's noise.

Usage: .venv/bin/python bench/metrics_overhead.py [--requests 4000] [--reps 8]
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import io
import statistics
import sys
import tempfile
import time
import timeit
from pathlib import Path

from aiohttp import web
from aiohttp.test_utils import make_mocked_request
from regauth_fixture import create_credentials, write_config

from regauth.config import load_config
from regauth.http.app import create_app
from regauth.runtime import open_runtime
from regauth.server.worker import _tune_gc


async def _measure(app: web.Application, auths: list[str], n: int, nonce: str) -> float:
    """CPU µs per /token request, each for a different repository. The requests are made
    before the clock starts: a mocked request is mostly unittest.mock's work."""
    requests = []
    for i in range(n):
        user, auth = auths[i % len(auths)].split(" ", 1)
        requests.append(
            make_mocked_request(
                "GET",
                f"/token?service=registry&scope=repository:{user}/r{nonce}-{i}:pull,push",
                headers={"Authorization": auth},
                app=app,
            )
        )
    started = time.process_time()
    for request in requests:
        response = await app._handle(request)
        assert response.status == 200, response.status
    return (time.process_time() - started) * 1e6 / n


async def main_async(args: argparse.Namespace, data: Path) -> None:
    setup = write_config(data, name="setup", port=5999, workers=1)
    credentials = create_credentials(setup, users=4, tokens_per_user=2)
    auths = [f"{c.user} {c.authorization}" for c in credentials]
    apps: dict[str, web.Application] = {}
    runners = []
    for label, enabled in (("on", True), ("off", False)):
        path = write_config(data, name=label, port=5999, workers=1, metrics=enabled)
        runtime = open_runtime(load_config(path, {}))
        runtime.store.listen()
        app = create_app(runtime)
        runner = web.AppRunner(app, access_log=None)
        await runner.setup()  # startup: the flusher and, when on, the publisher
        runners.append((runner, runtime))
        apps[label] = app
    _tune_gc()  # as a worker does: else collections of the mocks' garbage dominate
    results: dict[str, list[float]] = {"on": [], "off": []}
    for label in apps:  # warm-up: caches, lazy imports
        await _measure(apps[label], auths, 500, f"w{label}")
    for rep in range(args.reps):
        order = ["on", "off"] if rep % 2 == 0 else ["off", "on"]
        for label in order:
            results[label].append(
                await _measure(apps[label], auths, args.requests, f"{rep}{label}")
            )
    for runner, runtime in runners:
        await runner.cleanup()
        runtime.close()
    on, off = statistics.median(results["on"]), statistics.median(results["off"])
    ratios = [a / b for a, b in zip(results["on"], results["off"], strict=True)]
    print(f"metrics on : {on:6.1f} µs CPU/request (median of {args.reps}: {results['on']})")
    print(f"metrics off: {off:6.1f} µs CPU/request ({results['off']})")
    print(
        f"on ÷ off per rep: {', '.join(f'{r:.3f}' for r in ratios)}; "
        f"median {statistics.median(ratios):.3f}; difference {on - off:+.1f} µs"
    )


def parts() -> None:
    """The steps metrics add to one /token, each timed alone in a tight loop (best of 5)."""
    from regauth.http.appkeys import TOKEN_OUTCOME
    from regauth.http.middleware import _count_token_request
    from regauth.metrics.counts import CacheStats, Metrics
    from regauth.services.cache import VersionedCache

    metrics = Metrics()
    request = make_mocked_request("GET", "/token?scope=repository:a/b:pull")

    class _Db:  # the cheapest store a cache can ask (trusted, never changing)
        def trusted(self) -> bool:
            return True

        def row_stamp(self) -> int:
            return 0

        def version(self) -> int:
            return 0

        def row_changed(self, row: str, since: int) -> bool:
            return False

    plain: VersionedCache[str, int] = VersionedCache(_Db())  # type: ignore[arg-type]
    counted: VersionedCache[str, int] = VersionedCache(_Db(), stats=CacheStats())  # type: ignore[arg-type]
    plain.put("k", 1, plain.version())
    counted.put("k", 1, counted.version())
    started = time.perf_counter()

    def middleware_on() -> None:
        if metrics is not None and request.path == "/token":
            _count_token_request(metrics, request, 200, started)

    def outcome() -> None:
        request[TOKEN_OUTCOME] = "granted"

    steps = {
        "middleware: path check + count + time (metrics on only)": middleware_on,
        "handler: request[TOKEN_OUTCOME] = outcome (on and off)": outcome,
        "cache get without stats": lambda: plain.get("k"),
        "cache get with stats": lambda: counted.get("k"),
        "signing batch size (per batch, on and off)": lambda: metrics.sign_batches.observe(16),
    }
    n = 200_000
    for name, step in steps.items():
        best = min(timeit.repeat(step, number=n, repeat=5)) / n * 1e6
        print(f"{best:6.2f} µs  {name}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=4000)
    parser.add_argument("--reps", type=int, default=8)
    parser.add_argument(
        "--parts", action="store_true", help="time each step metrics add, alone, and stop"
    )
    args = parser.parse_args()
    if args.parts:
        parts()
        return 0
    # The access log of every request goes to stderr: not shown.
    with (
        tempfile.TemporaryDirectory(prefix="regauth-metrics-bench-") as data,
        contextlib.redirect_stderr(io.StringIO()),
    ):
        asyncio.run(main_async(args, Path(data)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
