"""`regauth user ...`: accounts, over the same UserService as /admin/v1/users."""

from __future__ import annotations

import argparse
import sys

from regauth.cli.output import print_fields, print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, with_runtime
from regauth.domain.models import CLI_ACTOR
from regauth.http.models.admin import UserView
from regauth.runtime import Runtime

_COLUMNS = ["name", "admin", "disabled", "has_password", "created_at"]


def register(commands: Subcommands) -> None:
    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.set_defaults(run=with_runtime(_add))

    listing = user.add_parser("list", help="list users")
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))

    show = user.add_parser("show", help="show one user")
    show.add_argument("name")
    add_json(show)
    show.set_defaults(run=with_runtime(_show))

    for name, help_text, command in [
        ("disable", "refuse the user's password and tokens (they are kept)", _disable),
        ("enable", "let a disabled user sign in again", _enable),
        ("grant-admin", "make the user an administrator", _grant_admin),
        ("revoke-admin", "take administrator rights away", _revoke_admin),
    ]:
        change = user.add_parser(name, help=help_text)
        change.add_argument("name")
        change.set_defaults(run=with_runtime(command))

    reset = user.add_parser("reset-password", help="set a new password, read from stdin")
    reset.add_argument("name")
    # Required so the password never lands in argv (ps, shell history).
    reset.add_argument("--password-stdin", action="store_true", required=True)
    reset.set_defaults(run=with_runtime(_reset_password))


def _read_password() -> str:
    return sys.stdin.readline().rstrip("\r\n")


def _add(runtime: Runtime, args: argparse.Namespace) -> int:
    password = _read_password() if args.password_stdin else None
    user = runtime.users.create(args.name, password, CLI_ACTOR, is_admin=args.admin)
    print(f"created user {user.name}" + (" (admin)" if user.is_admin else ""))
    return EXIT_OK


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    views = [UserView.of(u) for u in runtime.users.list()]
    if args.json:
        print_json(views)
    else:
        print_table(_COLUMNS, views)
    return EXIT_OK


def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    view = UserView.of(runtime.users.get(args.name))
    if args.json:
        print_json(view)
    else:
        print_fields(view)
    return EXIT_OK


def _disable(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.users.set_disabled(args.name, CLI_ACTOR, True)
    print(f"{args.name} is disabled")
    return EXIT_OK


def _enable(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.users.set_disabled(args.name, CLI_ACTOR, False)
    print(f"{args.name} is enabled")
    return EXIT_OK


def _grant_admin(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.users.set_admin(args.name, CLI_ACTOR, True)
    print(f"{args.name} is an administrator")
    return EXIT_OK


def _revoke_admin(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.users.set_admin(args.name, CLI_ACTOR, False)
    print(f"{args.name} is no longer an administrator")
    return EXIT_OK


def _reset_password(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.users.reset_password(args.name, CLI_ACTOR, _read_password())
    print(f"password of {args.name} is reset")
    return EXIT_OK
