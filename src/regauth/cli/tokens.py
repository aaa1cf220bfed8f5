"""`regauth token ...`: personal access tokens, over the same service as /admin/v1/tokens."""

from __future__ import annotations

import argparse
import sys

import msgspec

from regauth.cli.output import print_fields, print_json, print_table
from regauth.cli.runner import (
    EXIT_OK,
    Subcommands,
    add_allow_from,
    add_json,
    add_limit,
    comma_list,
    with_runtime,
)
from regauth.cli.when import HELP as WHEN_HELP
from regauth.cli.when import parse_when
from regauth.domain.durations import HELP as SPAN_HELP
from regauth.domain.durations import parse_duration
from regauth.domain.models import (
    CLI_ACTOR,
    AccessLevel,
    TokenQuery,
    TokenRecord,
    TokenState,
    token_state,
)
from regauth.domain.timefmt import parse_expiry, rfc3339
from regauth.domain.tokens import looks_like_token, parse_token
from regauth.errors import BadRequest
from regauth.http.models.admin import CreatedToken, Token
from regauth.http.models.hygiene import RegeneratedToken, StaleToken
from regauth.runtime import Runtime
from regauth.services.access_tokens import DEFAULT_EXPIRY
from regauth.services.rotation import MAX_GRACE_SECONDS

_ID_HELP = "the token's public id (or the whole token, e.g. one found leaked)"
_COLUMNS = [
    "id",
    "user",
    "description",
    "access",
    "state",
    "generated_by",
    "created_at",
    "last_used_at",
    "expires_at",
]


def register(commands: Subcommands) -> None:
    token = commands.add_parser("token", help="manage personal access tokens").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="create a personal access token (printed once)")
    create.add_argument("--user", required=True)
    create.add_argument("--description", required=True)
    create.add_argument("--access", required=True, choices=[level.value for level in AccessLevel])
    create.add_argument(
        "--expires",
        metavar="WHEN",
        help="none (never), 30d, 90d, Nd, YYYY-MM-DD or an RFC 3339 time "
        "(default: [limits] default_expiry, which is never unless set)",
    )
    create.add_argument(
        "--repositories",
        type=comma_list,
        metavar="LIST",
        help="a fine-grained token: the only repositories it reaches, comma-separated names "
        "and namespace/prefix/* patterns (e.g. alice/app,acme/ci/*; at most 50), within what "
        "the user may do and its access level (default: all the user may reach)",
    )
    add_allow_from(create, "token")
    create.add_argument("--json", action="store_true", help="the token's JSON, with the secret")
    create.set_defaults(run=with_runtime(_create))

    listing = token.add_parser(
        "list", help="list tokens across users, newest first", epilog=WHEN_HELP + "."
    )
    listing.add_argument("--user", help="only this user's tokens (default: every user's)")
    listing.add_argument(
        "--kind",
        choices=["manual", "auto"],
        help="made by a person or a sign-in (default: both)",
    )
    listing.add_argument(
        "--state", choices=[s.value for s in TokenState], help="only these (default: all)"
    )
    listing.add_argument(
        "--last-used-before",
        type=parse_when,
        metavar="WHEN",
        help="unused since WHEN, never-used tokens included (default: any)",
    )
    listing.add_argument(
        "--last-used-after", type=parse_when, metavar="WHEN", help="used since WHEN (default: any)"
    )
    listing.add_argument(
        "--expiring",
        type=span,
        metavar="SPAN",
        help="only active tokens expiring within SPAN, e.g. 7d (default: any)",
    )
    add_limit(listing)
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))

    show = token.add_parser("show", help="show one token (never its secret)")
    show.add_argument("id", help=_ID_HELP)
    add_json(show)
    show.set_defaults(run=with_runtime(_show))

    for name, help_text, active in [
        ("deactivate", "refuse the token at /token until activated again", False),
        ("activate", "accept a deactivated token again", True),
    ]:
        change = token.add_parser(name, help=help_text)
        change.add_argument("id", help=_ID_HELP)
        change.set_defaults(run=with_runtime(_set_active), active=active)

    rename = token.add_parser("rename", help="change a token's description")
    rename.add_argument("id", help=_ID_HELP)
    rename.add_argument("description")
    rename.set_defaults(run=with_runtime(_rename))

    delete = token.add_parser("delete", help="delete a token for good")
    delete.add_argument("id", help=_ID_HELP)
    delete.set_defaults(run=with_runtime(_delete))

    regenerate = token.add_parser(
        "regenerate",
        help="a new secret for the same token (printed once); the old one stops working",
        description="Keeps the token's id, description, access and expiry; the old secret "
        "stops working at once, or after --grace.",
        epilog=f"SPAN is {SPAN_HELP}.",
    )
    regenerate.add_argument("id", help=_ID_HELP)
    add_regenerate_options(regenerate)
    regenerate.set_defaults(run=with_runtime(_regenerate))

    stale = token.add_parser(
        "stale",
        help="report tokens of every kind unused for a while, the longest unused first",
        description="Personal, session and organization tokens (unexpired, active or not) "
        "not used for SPAN, or never used and made that long ago: what [limits] "
        "deactivate_unused_after of that period acts on.",
        epilog=f"SPAN is {SPAN_HELP}.",
    )
    stale.add_argument(
        "--unused", type=span, default=90 * 86400, metavar="SPAN", help="e.g. 60d (default: 90d)"
    )
    add_limit(stale)
    add_json(stale)
    stale.set_defaults(run=with_runtime(_stale))


def span(text: str) -> int:
    """argparse type: a span of time (7d, 12h), in seconds; malformed is a usage error."""
    try:
        return parse_duration(text, name="SPAN")
    except BadRequest as exc:
        raise argparse.ArgumentTypeError(exc.message) from None


def add_regenerate_options(parser: argparse.ArgumentParser) -> None:
    """--grace and --json, for every kind of token's `regenerate`."""
    parser.add_argument(
        "--grace",
        type=grace,
        default=0,
        metavar="SPAN",
        help="how long the old secret keeps working, at most 7d (default: 0, it stops now)",
    )
    parser.add_argument("--json", action="store_true", help="the token's JSON, with the new secret")


def grace(text: str) -> int:
    seconds = span(text)
    if seconds > MAX_GRACE_SECONDS:
        raise argparse.ArgumentTypeError("the grace period is at most 7d")
    return seconds


def _create(runtime: Runtime, args: argparse.Namespace) -> int:
    owner = runtime.users.get(args.user)
    created = runtime.tokens.create(
        owner,
        CLI_ACTOR,
        description=args.description,
        access=AccessLevel(args.access),
        expires_at=DEFAULT_EXPIRY
        if args.expires is None
        else parse_expiry(args.expires, now=runtime.clock()),
        repositories=args.repositories,
        allow_from=args.allow_from,
    )
    if args.json:
        view = Token.of(created.record, runtime.clock())
        print_json(CreatedToken(**msgspec.structs.asdict(view), token=str(created.token)))
    else:
        print(str(created.token))  # stdout is exactly the secret, for scripts
        record = created.record
        print(
            f"# token {record.id} for {owner.name}: {record.access.value}{_limits_text(record)}, "
            f"expires {rfc3339(record.expires_at) or 'never'}. It is shown only once.",
            file=sys.stderr,
        )
    return EXIT_OK


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    if args.user is not None:
        runtime.users.get(args.user)  # a mistyped name is an error, not an empty list
    now = runtime.clock()
    query = TokenQuery(
        owner=args.user,
        generated_by=args.kind,
        state=TokenState(args.state) if args.state else None,
        last_used_before=args.last_used_before.resolve(now) if args.last_used_before else None,
        last_used_after=args.last_used_after.resolve(now) if args.last_used_after else None,
        expiring_before=None if args.expiring is None else int(now) + args.expiring,
        limit=args.limit,
    )
    views = [Token.of(r, now) for r in runtime.tokens.search(query)]
    if args.json:
        print_json(views)
    else:
        print_table(_COLUMNS, views)
    return EXIT_OK


def _show(runtime: Runtime, args: argparse.Namespace) -> int:
    view = Token.of(runtime.tokens.get(_token_id(args.id)), runtime.clock())
    if args.json:
        print_json(view)
    else:
        print_fields(view)
    return EXIT_OK


def _set_active(runtime: Runtime, args: argparse.Namespace) -> int:
    record = runtime.tokens.get(_token_id(args.id))
    record = runtime.tokens.set_active(record, CLI_ACTOR, args.active)
    state = token_state(record, runtime.clock()).value
    print(f"token {record.id} of {record.owner_name} is {state}")
    return EXIT_OK


def _rename(runtime: Runtime, args: argparse.Namespace) -> int:
    record = runtime.tokens.get(_token_id(args.id))
    record = runtime.tokens.rename(record, CLI_ACTOR, args.description)
    print(f"token {record.id} of {record.owner_name} is now {record.description!r}")
    return EXIT_OK


def _delete(runtime: Runtime, args: argparse.Namespace) -> int:
    record = runtime.tokens.get(_token_id(args.id))
    runtime.tokens.delete(record, CLI_ACTOR)
    print(f"deleted token {record.id} of {record.owner_name}")
    return EXIT_OK


def _limits_text(record: TokenRecord) -> str:
    """`, on alice/app acme/ci/*, from 10.0.0.0/8`: what a token's lists hold, if any."""
    text = ""
    if record.repositories is not None:
        text += f", on {' '.join(record.repositories)}"
    if record.allow_from is not None:
        text += f", from {' '.join(map(str, record.allow_from))}"
    return text


def _regenerate(runtime: Runtime, args: argparse.Namespace) -> int:
    record = runtime.tokens.get(_token_id(args.id))
    made = runtime.rotation.regenerate(record, CLI_ACTOR, grace_seconds=args.grace)
    if args.json:
        now = runtime.clock()
        until = made.previous_valid_until
        print_json(RegeneratedToken.made(made.record, now, str(made.token), until))
    else:
        print(str(made.token))  # stdout is exactly the secret, for scripts
        old = rfc3339(made.previous_valid_until) or "now"
        print(
            f"# token {made.record.id} of {made.record.owner_name} has a new secret, shown "
            f"only once; the old one stops working {'at ' if made.previous_valid_until else ''}"
            f"{old}.",
            file=sys.stderr,
        )
    return EXIT_OK


_STALE_COLUMNS = ["kind", "id", "owner", "description", "active", "last_used_at", "created_at"]


def _stale(runtime: Runtime, args: argparse.Namespace) -> int:
    found = runtime.staleness.report(unused_seconds=args.unused, limit=args.limit)
    views = [StaleToken.of(c) for c in found]
    if args.json:
        print_json(views)
    else:
        print_table(_STALE_COLUMNS, views)
    return EXIT_OK


def _token_id(value: str) -> str:
    """Commands take the public id; a whole token (say, a leaked one) is cut down to it."""
    return parse_token(value).public_id if looks_like_token(value) else value
