"""`regauth admin-key ...`: keys for the admin API, or with --scim for SCIM provisioning, made
here only (the secret is shown once)."""

from __future__ import annotations

import argparse
import sys

import msgspec

from regauth.cli.output import print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_allow_from, add_json, with_runtime
from regauth.domain.models import CLI_ACTOR
from regauth.http.models.admin import AdminKeyView, CreatedAdminKey
from regauth.runtime import Runtime
from regauth.services.admin_keys import ADMIN, SCIM

_COLUMNS = [
    "id",
    "purpose",
    "description",
    "created_at",
    "created_by",
    "revoked_at",
    "last_used_at",
    "last_used_ip",
    "allow_from",
]


def register(commands: Subcommands) -> None:
    admin_key = commands.add_parser("admin-key", help="admin API keys").add_subparsers(
        dest="action", required=True
    )
    create = admin_key.add_parser("create", help="create an admin API key (printed once)")
    create.add_argument("--description", required=True)
    create.add_argument(
        "--scim",
        action="store_true",
        help="a SCIM key: opens /scim/v2 (provisioning) and nothing else",
    )
    add_allow_from(create, "key")
    create.add_argument("--json", action="store_true", help="the key's JSON, with the secret")
    create.set_defaults(run=with_runtime(_create))

    listing = admin_key.add_parser(
        "list", help="list admin API keys and SCIM keys (never their secrets)"
    )
    add_json(listing)
    listing.set_defaults(run=with_runtime(_list))

    revoke = admin_key.add_parser("revoke", help="revoke an admin API key for good")
    revoke.add_argument("id")
    revoke.set_defaults(run=with_runtime(_revoke))


def _create(runtime: Runtime, args: argparse.Namespace) -> int:
    purpose = SCIM if args.scim else ADMIN
    created = runtime.admin_keys.create(
        args.description, CLI_ACTOR, purpose=purpose, allow_from=args.allow_from
    )
    if args.json:
        view = AdminKeyView.of(created.key)
        print_json(CreatedAdminKey(**msgspec.structs.asdict(view), key=str(created.secret)))
    else:
        print(str(created.secret))  # stdout is exactly the secret, for scripts
        what = (
            f"SCIM key {created.key.id}: the provisioner's bearer token for "
            f"{runtime.config.server.public_url.rstrip('/')}/scim/v2"
            if purpose == SCIM
            else f"admin API key {created.key.id}: send it as 'Authorization: Bearer <key>'"
        )
        print(f"# {what}. It is shown only once.", file=sys.stderr)
    return EXIT_OK


def _list(runtime: Runtime, args: argparse.Namespace) -> int:
    views = [AdminKeyView.of(k) for k in runtime.admin_keys.list()]
    if args.json:
        print_json(views)
    else:
        print_table(_COLUMNS, views)
    return EXIT_OK


def _revoke(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.admin_keys.revoke(args.id, CLI_ACTOR)
    print(f"revoked admin API key {args.id}")
    return EXIT_OK
