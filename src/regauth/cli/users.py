"""`regauth user ...`: accounts, over the same UserService as /admin/v1/users."""

from __future__ import annotations

import argparse
import sys

from regauth.cli.output import print_fields, print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, with_runtime
from regauth.domain.identities import IdentitySource
from regauth.domain.models import CLI_ACTOR
from regauth.errors import BadRequest
from regauth.http.models.admin import IdentityView, UserView
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

    link = user.add_parser(
        "link", help="link an account to its identity at the OpenID Provider or the directory"
    )
    link.add_argument("name")
    where = link.add_mutually_exclusive_group(required=True)
    where.add_argument("--oidc", metavar="SUBJECT", help="the ID token's `sub` claim")
    where.add_argument("--ldap", metavar="ID", help="the entry's stable id (entryUUID, objectGUID)")
    link.add_argument("--issuer", default="", help="the OpenID Provider's issuer URL (with --oidc)")
    link.set_defaults(run=with_runtime(_link))

    unlink = user.add_parser("unlink", help="end an account's link to a provider")
    unlink.add_argument("name")
    unlink.add_argument("--source", choices=[s.value for s in IdentitySource], required=True)
    unlink.set_defaults(run=with_runtime(_unlink))

    identities = user.add_parser("identities", help="the providers an account is linked to")
    identities.add_argument("name")
    add_json(identities)
    identities.set_defaults(run=with_runtime(_identities))

    reset = user.add_parser("reset-password", help="set a new password, read from stdin")
    reset.add_argument("name")
    # Required so the password never lands in argv (ps, shell history).
    reset.add_argument("--password-stdin", action="store_true", required=True)
    reset.set_defaults(run=with_runtime(_reset_password))


def _link(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.oidc is not None:
        if not args.issuer:
            raise BadRequest("--oidc needs --issuer (the OpenID Provider's issuer URL)")
        source, issuer, subject = IdentitySource.OIDC, args.issuer, args.oidc
    else:
        source, issuer, subject = IdentitySource.LDAP, "", args.ldap
    runtime.provisioning.link(args.name, source, issuer, subject, CLI_ACTOR)
    print(f"{args.name} is linked to {source.value}" + (f" {issuer}" if issuer else ""))
    return EXIT_OK


def _unlink(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.provisioning.unlink(args.name, IdentitySource(args.source), CLI_ACTOR)
    print(f"{args.name} is no longer linked to {args.source}")
    return EXIT_OK


def _identities(runtime: Runtime, args: argparse.Namespace) -> int:
    views = [IdentityView.of(i) for i in runtime.provisioning.identities(args.name)]
    if args.json:
        print_json(views)
    else:
        print_table(["source", "issuer", "subject", "groups", "last_seen_at"], views)
    return EXIT_OK


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
