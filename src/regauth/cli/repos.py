"""`regauth repo ...`: repository visibility, over the same service as /admin/v1/repositories."""

from __future__ import annotations

import argparse
import sys

from regauth.cli.output import print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, with_runtime
from regauth.domain.models import CLI_ACTOR, Visibility
from regauth.http.models.admin import RepositoryView
from regauth.runtime import Runtime


def register(commands: Subcommands) -> None:
    repo = commands.add_parser("repo", help="repositories").add_subparsers(
        dest="action", required=True
    )
    visibility = repo.add_parser("set-visibility", help="make a repository public or private")
    visibility.add_argument("name")
    visibility.add_argument("visibility", choices=[v.value for v in Visibility])
    visibility.set_defaults(run=with_runtime(_set_visibility))
    listing = repo.add_parser("list", help="list repositories with a recorded visibility")
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))


def _set_visibility(runtime: Runtime, args: argparse.Namespace) -> int:
    repository = runtime.repositories.set_visibility(
        args.name, Visibility(args.visibility), CLI_ACTOR
    )
    print(f"{repository.name} is {repository.visibility.value}")
    if not runtime.repositories.push_ever_granted(repository.name):
        # Allowed (a repository may be made public before its first push), but likely a typo.
        print(
            f"note: regauth has never let anyone push {repository.name}: check the name "
            "(the visibility is kept and applies once it is pushed)",
            file=sys.stderr,
        )
    return EXIT_OK


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    views = [RepositoryView.of(r) for r in runtime.repositories.list()]
    if args.json:
        print_json(views)
    else:
        print_table(["name", "visibility", "created_at"], views)
    return EXIT_OK
