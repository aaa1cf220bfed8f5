"""The `regauth` command: serve, and admin commands over the same services the HTTP API uses."""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import typing
from collections.abc import Sequence
from pathlib import Path

from regauth.cli.runner import (
    CREATES_DATA,
    EXIT_ERROR,
    EXIT_OK,
    EXIT_USAGE,
    NO_DATA,
    USES_DATA,
    USES_DATABASE,
)
from regauth.config import Config, load_config
from regauth.domain.clock import Clock, system_clock
from regauth.errors import ConfigError, RegauthError
from regauth.runtime import MissingData, require_data

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
        args = _parser(_command_of(argv)).parse_args(argv)
    except SystemExit as exc:  # argparse: --help, or a usage error it has already printed
        return exc.code if isinstance(exc.code, int) else EXIT_USAGE
    args.config_path = args.config or env.get("REGAUTH_CONFIG")
    args.environ = env
    try:
        config = load_config(args.config_path, env)
        data = getattr(args, "data", USES_DATA)
        if data in (USES_DATA, USES_DATABASE):
            require_data(config, keys=data == USES_DATA)
        if args.verbose and data != NO_DATA:
            _say_which_data(config, args.config_path)
        return int(args.run(config, clock, args))
    except MissingData as exc:  # its message says what and where
        print(f"regauth: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except ConfigError as exc:
        print(f"regauth: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except RegauthError as exc:
        print(f"regauth: {exc.message}", file=sys.stderr)
        return EXIT_ERROR
    except BrokenPipeError:
        # `regauth audit list | head`: the reader has gone, which is no error. stdout is
        # pointed at /dev/null so that the interpreter's own flush at exit stays quiet too.
        _silence_stdout()
        return EXIT_OK


def _say_which_data(config: Config, path: str | None) -> None:
    from regauth.store.describe import describe_storage

    source = f"config {Path(path).resolve()}" if path else "no config file"
    print(
        f"regauth: database {describe_storage(config.storage)}, "
        f"keys {Path(config.keys.dir).resolve()} ({source})",
        file=sys.stderr,
    )


def _silence_stdout() -> None:
    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        os.close(devnull)
    except (OSError, ValueError, AttributeError):  # not a real file (tests capture it)
        pass


def _version() -> str:
    # Imported when asked: importlib.metadata (with zipfile, csv, email) is ~0.8 MiB of every
    # worker, which builds this parser too.
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("regauth")
    except PackageNotFoundError:  # run from a source tree that was never installed
        return "unknown"


class _VersionAction(argparse.Action):
    """`--version`, with the version looked up only when the option is given."""

    def __init__(self, option_strings: Sequence[str], dest: str, **kwargs: object) -> None:
        super().__init__(
            option_strings,
            dest=argparse.SUPPRESS,
            default=argparse.SUPPRESS,
            nargs=0,
            help="show program's version number and exit",
        )

    def __call__(self, parser: argparse.ArgumentParser, *_args: object, **_kw: object) -> None:
        print(f"regauth {_version()}")  # to stdout, as argparse's own version action
        parser.exit()


# The admin commands' modules (each has register(commands)), in the order of the help.
_COMMAND_MODULES = (
    "users",
    "two_factor",
    "tokens",
    "orgs",
    "admin_keys",
    "repos",
    "audit",
    "notifications",
    "explain",
    "keys",
    "health",
    "db",
)
# Commands of this module: their parser needs none of _COMMAND_MODULES.
_OWN_COMMANDS = frozenset({"serve", "init"})


class _Unparsed(Exception):
    pass


class _QuietParser(argparse.ArgumentParser):
    def error(self, message: str) -> typing.NoReturn:
        raise _Unparsed(message)


def _command_of(argv: Sequence[str] | None) -> str | None:
    """The command word of `argv` (after the global options), if any; help and usage errors
    are left to the full parser."""
    first = _QuietParser(add_help=False)
    _add_config(first)
    first.add_argument("-h", "--help", action="store_true")
    first.add_argument("command", nargs="?")
    try:
        known, _ = first.parse_known_args(argv)
    except _Unparsed:  # e.g. `--config` without a value: the full parser says so
        return None
    if known.help or not isinstance(known.command, str):
        return None
    return known.command


def _parser(command: str | None = None) -> argparse.ArgumentParser:
    """The parser of every command; for `serve` or `init`, of those alone, so that a serving
    process (and every worker forked from it) does not import the admin commands' modules
    (~0.9 MiB; README: Performance)."""
    parser = argparse.ArgumentParser(
        prog="regauth",
        description=__doc__,
        epilog="Exit codes: 0 ok, 1 refused or not found, 2 usage or configuration error.",
    )
    parser.add_argument("--version", action=_VersionAction)
    _add_config(parser)
    commands = parser.add_subparsers(dest="command", required=True)
    serve = commands.add_parser(
        "serve",
        help="run the token service (creates the database and keys if they are not there)",
        description="Serve until SIGTERM or SIGINT; SIGHUP reads the configuration again.",
    )
    serve.set_defaults(run=_serve, data=CREATES_DATA)
    init = commands.add_parser(
        "init",
        help="create the database and signing keys (other commands refuse to make them)",
    )
    init.set_defaults(run=_init, data=CREATES_DATA)
    if command not in _OWN_COMMANDS:
        for name in _COMMAND_MODULES:
            importlib.import_module(f"regauth.cli.{name}").register(commands)
    # `regauth user list --config FILE` as well as `regauth --config FILE user list`: every
    # command (and subcommand) takes it; SUPPRESS keeps a later parser's default from
    # overwriting what an earlier position gave.
    for leaf in _leaves(commands):
        _add_config(leaf, default=argparse.SUPPRESS)
        leaf.formatter_class = _with_defaults(
            typing.cast(type[argparse.HelpFormatter], leaf.formatter_class)
        )
    return parser


class _DefaultsFormatter(argparse.HelpFormatter):
    """Every option's help ends with its default, unless it says it in words already (a
    default of None needs words: `--user` "(default: every user's)"); flags are off unless
    given, and required options have none."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if (
            "default" in text
            or not action.option_strings
            or action.required
            or action.default in (None, False, argparse.SUPPRESS)
        ):
            return text
        return f"{text} (default: {action.default})".lstrip()


class _RawDefaultsFormatter(_DefaultsFormatter, argparse.RawDescriptionHelpFormatter):
    pass


def _with_defaults(formatter: type[argparse.HelpFormatter]) -> type[argparse.HelpFormatter]:
    if issubclass(formatter, argparse.RawDescriptionHelpFormatter):
        return _RawDefaultsFormatter
    return _DefaultsFormatter


CONFIG_HELP = "TOML config file (default: $REGAUTH_CONFIG, else built-in defaults)"
VERBOSE_HELP = "say on stderr which database and keys the command uses (default: quiet)"


def _add_config(parser: argparse.ArgumentParser, default: object = None) -> None:
    parser.add_argument("--config", default=default, metavar="FILE", help=CONFIG_HELP)
    parser.add_argument(
        "-v",
        "--verbose",
        action="store_true",
        default=False if default is None else default,
        help=VERBOSE_HELP,
    )


def _leaves(commands: argparse._SubParsersAction) -> list[argparse.ArgumentParser]:  # type: ignore[type-arg]
    """Every parser under `commands` that runs something: the subcommands' own parsers."""
    found = []
    for parser in dict.fromkeys(commands.choices.values()):
        nested = [
            action for action in parser._actions if isinstance(action, argparse._SubParsersAction)
        ]
        if nested:
            for sub in nested:
                found += _leaves(sub)
        else:
            found.append(parser)
    return found


def _init(config: Config, clock: Clock, _args: argparse.Namespace) -> int:
    from regauth.runtime import open_runtime
    from regauth.store.describe import describe_storage

    database = Path(config.storage.path).resolve()
    existed = bool(config.storage.url) or database.is_file()
    open_runtime(config, clock=clock).close()  # creates what is missing, migrates the schema
    print(
        f"{'database' if existed else 'created database'} {describe_storage(config.storage)}\n"
        f"keys {Path(config.keys.dir).resolve()}"
    )
    return EXIT_OK


def _serve(config: Config, _clock: Clock, args: argparse.Namespace) -> int:
    from regauth.server.supervisor import serve  # imports aiohttp only when serving

    # SIGHUP reads the same file with the same environment again.
    path, env = args.config_path, args.environ
    serve(config, load=lambda: load_config(path, env))
    return EXIT_OK


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
