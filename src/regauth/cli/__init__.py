"""The `regauth` command: serve, and admin commands over the same services the HTTP API uses."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Sequence

from regauth.cli import (
    admin_keys,
    audit,
    db,
    explain,
    health,
    keys,
    orgs,
    repos,
    tokens,
    two_factor,
    users,
)
from regauth.cli.runner import EXIT_ERROR, EXIT_OK, EXIT_USAGE
from regauth.config import Config, load_config
from regauth.domain.clock import Clock, system_clock
from regauth.errors import ConfigError, RegauthError

__all__ = ["EXIT_ERROR", "EXIT_OK", "EXIT_USAGE", "main"]


def main(
    argv: Sequence[str] | None = None,
    environ: dict[str, str] | None = None,
    *,
    clock: Clock = system_clock,
) -> int:
    """Run one command; returns the exit code: 0 ok, 1 refused or not found, 2 usage or config."""
    env = dict(os.environ) if environ is None else environ
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help, or a usage error it has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    try:
        config = load_config(args.config or env.get("REGAUTH_CONFIG"), env)
        return int(args.run(config, clock, args))
    except ConfigError as exc:
        print(f"regauth: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except RegauthError as exc:
        print(f"regauth: {exc.message}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="regauth",
        description=__doc__,
        epilog="Exit codes: 0 ok, 1 refused or not found, 2 usage or configuration error.",
    )
    parser.add_argument(
        "--config", help="TOML config file (default: $REGAUTH_CONFIG, else built-in defaults)"
    )
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser("serve", help="run the token service")
    serve.set_defaults(run=_serve)
    for module in (
        users,
        two_factor,
        tokens,
        orgs,
        admin_keys,
        repos,
        audit,
        explain,
        keys,
        health,
        db,
    ):
        module.register(commands)
    return parser


def _serve(config: Config, _clock: Clock, _args: argparse.Namespace) -> int:
    from regauth.server.supervisor import serve  # imports aiohttp only when serving

    serve(config)
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
