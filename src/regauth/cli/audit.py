"""`regauth audit list`: the audit trail, over the same AuditLog as /admin/v1/audit."""

from __future__ import annotations

import argparse

from regauth.cli.output import print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, add_limit, with_runtime
from regauth.cli.when import HELP as WHEN_HELP
from regauth.cli.when import parse_when
from regauth.domain.models import AuditQuery
from regauth.http.models.admin import AuditEventView
from regauth.runtime import Runtime

_COLUMNS = ["at", "actor", "action", "target", "count", "ip", "details"]


def register(commands: Subcommands) -> None:
    audit = commands.add_parser("audit", help="the audit trail").add_subparsers(
        dest="action", required=True
    )
    listing = audit.add_parser(
        "list", help="list audit events, newest first", epilog=WHEN_HELP + "."
    )
    listing.add_argument(
        "--actor", help="who acted: a user name, admin-key:<id>, or cli (default: anyone)"
    )
    listing.add_argument(
        "--action",
        dest="event",
        metavar="ACTION",
        help="e.g. token.deactivate, auth.failed (default: every action)",
    )
    listing.add_argument(
        "--since", type=parse_when, metavar="WHEN", help="at or after WHEN (default: the first)"
    )
    listing.add_argument(
        "--until", type=parse_when, metavar="WHEN", help="at or before WHEN (default: now)"
    )
    add_limit(listing)
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    now = runtime.clock()
    query = AuditQuery(
        actor=args.actor,
        action=args.event,
        since=args.since.resolve(now) if args.since else None,
        until=args.until.resolve(now) if args.until else None,
        limit=args.limit,
    )
    views = [AuditEventView.of(e) for e in runtime.audit.list(query)]
    if args.json:
        print_json(views)
    else:
        print_table(_COLUMNS, views)
    return EXIT_OK
