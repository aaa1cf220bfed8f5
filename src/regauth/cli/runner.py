"""How a command runs: exit codes, the config and clock it gets, the runtime it stands on."""

from __future__ import annotations

import argparse
from collections.abc import Callable
from typing import TypeAlias

from regauth.config import Config
from regauth.domain.clock import Clock
from regauth.runtime import Runtime, open_runtime

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2
# The admin API's ceiling for one page; the CLI keeps it so the two cannot drift.
MAX_LIMIT = 1000

# What a command does with the deployment's data (`parser.set_defaults(data=...)`): most use
# the database and keys that are there and refuse to run without them (runtime.require_data);
# `serve` and `init` may create them; a few need only the database, or none of it.
USES_DATA, USES_DATABASE, CREATES_DATA, NO_DATA = "data", "database", "create", "none"

Subcommands: TypeAlias = "argparse._SubParsersAction[argparse.ArgumentParser]"
Command = Callable[[Config, Clock, argparse.Namespace], int]
RuntimeCommand = Callable[[Runtime, argparse.Namespace], int]


def with_runtime(command: RuntimeCommand) -> Command:
    def run(config: Config, clock: Clock, args: argparse.Namespace) -> int:
        runtime = open_runtime(config, clock=clock)
        try:
            return command(runtime, args)
        finally:
            runtime.close()

    return run


def limit(text: str) -> int:
    """argparse type for --limit: 1 to MAX_LIMIT."""
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not 1 <= value <= MAX_LIMIT:
        raise argparse.ArgumentTypeError(f"must be between 1 and {MAX_LIMIT}")
    return value


def add_limit(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--limit",
        type=limit,
        default=100,
        metavar="N",
        help=f"at most N rows, newest first (1-{MAX_LIMIT})",
    )


def add_json(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--json", action="store_true", help="print the admin API's JSON instead of a table"
    )


def comma_list(text: str) -> list[str]:
    """argparse type for a list in one argument, `a,b,c` (what each entry may be: the service)."""
    return [entry.strip() for entry in text.split(",") if entry.strip()]


def add_allow_from(parser: argparse.ArgumentParser, what: str) -> None:
    """`--allow-from`, which every kind of credential takes at its creation."""
    parser.add_argument(
        "--allow-from",
        type=comma_list,
        metavar="CIDRS",
        help=f"the client networks the {what} may be used from, comma-separated "
        "(e.g. 10.0.0.0/8,2001:db8::/32); from anywhere else it is refused "
        "(default: anywhere)",
    )
