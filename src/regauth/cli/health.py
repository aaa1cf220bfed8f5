"""`regauth health`: does the service on `[server] listen` answer /healthz? (a HEALTHCHECK)"""

from __future__ import annotations

import argparse
import ipaddress
import sys
import urllib.request

from regauth.cli.runner import EXIT_ERROR, EXIT_OK, NO_DATA, Subcommands
from regauth.config import Config
from regauth.domain.clock import Clock

TIMEOUT_SECONDS = 2.0


def register(commands: Subcommands) -> None:
    health = commands.add_parser(
        "health",
        help="exit 0 if the service on [server] listen answers /healthz, 1 if not",
        description="For a container HEALTHCHECK: it reads the same configuration as serve.",
    )
    health.set_defaults(run=_health, data=NO_DATA)


def _health(config: Config, _clock: Clock, _args: argparse.Namespace) -> int:
    url = f"http://{local_address(config.listen_host)}:{config.listen_port}/healthz"
    try:
        with urllib.request.urlopen(url, timeout=TIMEOUT_SECONDS) as response:
            healthy = response.status == 200
    except (OSError, ValueError):  # refused, timed out, an HTTP error status
        healthy = False
    if not healthy:
        print(f"regauth: no healthy service at {url}", file=sys.stderr)
        return EXIT_ERROR
    return EXIT_OK


def local_address(host: str) -> str:
    """Where to reach a service listening on `host` from this machine, as a URL host."""
    if host in ("", "0.0.0.0"):  # noqa: S104 - every IPv4 address: loopback is one of them
        return "127.0.0.1"
    if host == "::":
        return "[::1]"
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        return host  # a name
    return f"[{address}]" if address.version == 6 else host
