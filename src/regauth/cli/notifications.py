"""`regauth notification ...`: the webhook's notifications and their delivery, over the same
service as /admin/v1/notifications."""

from __future__ import annotations

import argparse

from regauth.cli.output import print_fields, print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, add_limit, with_runtime
from regauth.domain.hygiene import EVENTS, NotificationQuery, NotificationState
from regauth.domain.models import CLI_ACTOR
from regauth.http.models.hygiene import NotificationView
from regauth.runtime import Runtime

_COLUMNS = ["id", "event", "state", "attempts", "created_at", "last_status", "last_error"]


def register(commands: Subcommands) -> None:
    notification = commands.add_parser(
        "notification", help="the webhook's notifications ([notifications] webhook_url)"
    ).add_subparsers(dest="action", required=True)
    listing = notification.add_parser("list", help="list notifications, newest first")
    listing.add_argument(
        "--state",
        choices=[s.value for s in NotificationState],
        help="only these (default: all)",
    )
    listing.add_argument("--event", choices=EVENTS, help="only this event (default: all)")
    add_limit(listing)
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))

    show = notification.add_parser("show", help="one notification and its delivery")
    show.add_argument("id")
    add_json(show)
    show.set_defaults(run=with_runtime(_show))

    retry = notification.add_parser(
        "retry", help="send a given-up notification again (attempts counted from 0)"
    )
    retry.add_argument("id")
    retry.set_defaults(run=with_runtime(_retry))


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    query = NotificationQuery(
        state=NotificationState(args.state) if args.state else None,
        event=args.event,
        limit=args.limit,
    )
    views = [NotificationView.of(n) for n in runtime.notifier.list(query)]
    if args.json:
        print_json(views)
    else:
        print_table(_COLUMNS, views)
    return EXIT_OK


def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    view = NotificationView.of(runtime.notifier.get(args.id))
    if args.json:
        print_json(view)
    else:
        print_fields(view)
    return EXIT_OK


def _retry(runtime: Runtime, args: argparse.Namespace) -> int:
    retried = runtime.notifier.retry(args.id, CLI_ACTOR)
    print(f"notification {retried.id} ({retried.event}) is due again")
    return EXIT_OK
