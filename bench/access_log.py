"""Micro-benchmark: µs to format one access-log line at flush time, for /token and for hostile paths.

    .venv/bin/python bench/access_log.py            # best of 15 rounds of 20 flushes of 512 lines

Each round formats a full batch (`AccessLog`'s max_lines) the way `flush()` does, without the
write; the figure is the best round's time divided by the lines, so noise from other jobs on
the machine only makes a round slower, never faster.
"""

from __future__ import annotations

import argparse
import time

from regauth.domain.tokens import AccessToken, TokenKind
from regauth.logs import _access_lines

_PAT = str(AccessToken.generate(TokenKind.PERSONAL))
_JWT = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiJhbGljZSIsImV4cCI6MTcwMDAwMDAwMH0.c2lnbmF0dXJlLXNpZ25hdHVyZQ"
PATHS = {
    "/token": "/token",
    "org path": "/v2/orgs/acme/access-tokens",
    "user path with _": "/admin/v1/users/build_bot",
    "PAT in path": f"/admin/v1/tokens/{_PAT}",
    "JWT in path": f"/v2/access-tokens/{_JWT}",
}


def per_line_us(path: str, *, lines: int, flushes: int, rounds: int) -> float:
    now = time.time()
    entries = [
        (now + i * 1e-4, "GET", path, 200, 0.42, "127.0.0.1", f"1a2b3c4d{i:x}")
        for i in range(lines)
    ]
    b"".join(_access_lines(entries))  # warm-up: the first round of a process runs slower
    best = float("inf")
    for _ in range(rounds):
        started = time.perf_counter()
        for _ in range(flushes):
            b"".join(_access_lines(entries))
        best = min(best, time.perf_counter() - started)
    return best / (flushes * lines) * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lines", type=int, default=512)
    parser.add_argument("--flushes", type=int, default=20)
    parser.add_argument("--rounds", type=int, default=15)
    args = parser.parse_args()
    for name, path in PATHS.items():
        us = per_line_us(path, lines=args.lines, flushes=args.flushes, rounds=args.rounds)
        print(f"{name:18} {us:6.3f} µs/line")


if __name__ == "__main__":
    main()
