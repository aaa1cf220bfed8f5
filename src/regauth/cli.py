"""The `regauth` command: serve, and admin commands over the same services the HTTP API uses."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from regauth.config import Config, load_config
from regauth.errors import ConfigError, RegauthError
from regauth.keys import export_jwks, export_pem
from regauth.models import CLI_ACTOR, AccessLevel, Visibility
from regauth.runtime import Runtime, load_keyring, open_runtime
from regauth.timefmt import parse_expiry, rfc3339

EXIT_OK, EXIT_ERROR, EXIT_USAGE = 0, 1, 2


def main(argv: Sequence[str] | None = None, environ: dict[str, str] | None = None) -> int:
    env = dict(os.environ) if environ is None else environ
    args = _parser().parse_args(argv)
    try:
        config = load_config(args.config or env.get("REGAUTH_CONFIG"), env)
        return int(args.run(config, args))
    except ConfigError as exc:
        print(f"regauth: configuration error: {exc.message}", file=sys.stderr)
        return EXIT_USAGE
    except RegauthError as exc:
        print(f"regauth: {exc.message}", file=sys.stderr)
        return EXIT_ERROR


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="regauth", description=__doc__)
    parser.add_argument(
        "--config", help="TOML config file (default: $REGAUTH_CONFIG, else built-in defaults)"
    )
    commands = parser.add_subparsers(dest="command", required=True)

    serve = commands.add_parser("serve", help="run the token service")
    serve.set_defaults(run=_serve)

    user = commands.add_parser("user", help="manage users").add_subparsers(
        dest="action", required=True
    )
    add = user.add_parser("add", help="create a user")
    add.add_argument("name")
    add.add_argument("--password-stdin", action="store_true", help="read the password from stdin")
    add.add_argument("--admin", action="store_true", help="make the user an administrator")
    add.set_defaults(run=_with_runtime(_user_add))

    token = commands.add_parser("token", help="manage personal access tokens").add_subparsers(
        dest="action", required=True
    )
    create = token.add_parser("create", help="create a personal access token (printed once)")
    create.add_argument("--user", required=True)
    create.add_argument("--description", required=True)
    create.add_argument("--access", required=True, choices=[level.value for level in AccessLevel])
    create.add_argument("--expires", default="none", help="none, 30d, 90d, Nd, or YYYY-MM-DD")
    create.add_argument("--json", action="store_true")
    create.set_defaults(run=_with_runtime(_token_create))
    listing = token.add_parser("list", help="list a user's tokens")
    listing.add_argument("--user", required=True)
    listing.add_argument("--json", action="store_true")
    listing.set_defaults(run=_with_runtime(_token_list))

    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="action", required=True
    )
    export = keys.add_parser("export", help="print what the registry must trust")
    export.add_argument("--format", choices=["pem", "jwks"], default="pem")
    export.set_defaults(run=_keys_export)

    registry = commands.add_parser("registry-config", help="print the registry's auth.token stanza")
    registry.add_argument("--registry-version", choices=["2", "3"], default="2")
    registry.set_defaults(run=_registry_config)

    repo = commands.add_parser("repo", help="repositories").add_subparsers(
        dest="action", required=True
    )
    visibility = repo.add_parser("set-visibility", help="make a repository public or private")
    visibility.add_argument("name")
    visibility.add_argument("visibility", choices=[v.value for v in Visibility])
    visibility.set_defaults(run=_with_runtime(_repo_set_visibility))
    repo_list = repo.add_parser("list", help="list repositories with a recorded visibility")
    repo_list.add_argument("--json", action="store_true")
    repo_list.set_defaults(run=_with_runtime(_repo_list))
    return parser


def _with_runtime(
    command: Callable[[Runtime, argparse.Namespace], int],
) -> Callable[[Config, argparse.Namespace], int]:
    def run(config: Config, args: argparse.Namespace) -> int:
        runtime = open_runtime(config)
        try:
            return command(runtime, args)
        finally:
            runtime.close()

    return run


def _serve(config: Config, _args: argparse.Namespace) -> int:
    from regauth.server import serve  # imports aiohttp only when serving

    serve(config)
    return EXIT_OK


def _user_add(runtime: Runtime, args: argparse.Namespace) -> int:
    password = sys.stdin.readline().rstrip("\r\n") if args.password_stdin else None
    user = runtime.users.create(args.name, password, CLI_ACTOR, is_admin=args.admin)
    print(f"created user {user.name}" + (" (admin)" if user.is_admin else ""))
    return EXIT_OK


def _token_create(runtime: Runtime, args: argparse.Namespace) -> int:
    owner = runtime.users.get(args.user)
    created = runtime.tokens.create(
        owner,
        CLI_ACTOR,
        description=args.description,
        access=AccessLevel(args.access),
        expires_at=parse_expiry(args.expires, now=runtime.clock()),
    )
    if args.json:
        _print_json({**_token_view(created.record), "token": str(created.token)})
    else:
        print(str(created.token))
        print(
            f"# token {created.record.id} for {owner.name}: {created.record.access.value}, "
            f"expires {rfc3339(created.record.expires_at) or 'never'}. It is shown only once.",
            file=sys.stderr,
        )
    return EXIT_OK


def _token_list(runtime: Runtime, args: argparse.Namespace) -> int:
    records = runtime.tokens.list_for(runtime.users.get(args.user))
    views = [_token_view(r) for r in records]
    if args.json:
        _print_json(views)
    else:
        columns = [
            "id",
            "description",
            "access",
            "active",
            "created_at",
            "last_used_at",
            "expires_at",
        ]
        _print_table(columns, views)
    return EXIT_OK


def _token_view(record: Any) -> dict[str, Any]:
    return {
        "id": record.id,
        "uuid": record.uuid,
        "user": record.owner_name,
        "description": record.description,
        "access": record.access.value,
        "active": record.active,
        "created_at": rfc3339(record.created_at),
        "last_used_at": rfc3339(record.last_used_at),
        "last_used_ip": record.last_used_ip,
        "expires_at": rfc3339(record.expires_at),
    }


def _keys_export(config: Config, args: argparse.Namespace) -> int:
    keyring = load_keyring(config)
    if args.format == "pem":
        sys.stdout.write(export_pem(keyring))
    else:
        _print_json(export_jwks(keyring, config.keys.kid_format))
    return EXIT_OK


def _registry_config(config: Config, args: argparse.Namespace) -> int:
    load_keyring(config)  # make sure the files it names exist
    keys_dir = Path(config.keys.dir).resolve()
    lines = [
        "# regauth: paste under the registry's config.yml (CNCF distribution "
        f"{'2.8' if args.registry_version == '2' else '3.x'}).",
        "# Deletes also need storage.delete.enabled: true.",
        "auth:",
        "  token:",
        f'    realm: "{config.realm}"',
        f'    service: "{config.default_service}"',
        f'    issuer: "{config.token.issuer}"',
        f'    rootcertbundle: "{keys_dir / "rootcertbundle.pem"}"',
    ]
    if args.registry_version == "3":
        lines += [
            f'    jwks: "{keys_dir / "jwks.json"}"',
            f"    signingalgorithms: [{config.keys.algorithm}]",
        ]
    print("\n".join(lines))
    return EXIT_OK


def _repo_set_visibility(runtime: Runtime, args: argparse.Namespace) -> int:
    repository = runtime.repositories.set_visibility(
        args.name, Visibility(args.visibility), CLI_ACTOR
    )
    print(f"{repository.name} is {repository.visibility.value}")
    return EXIT_OK


def _repo_list(runtime: Runtime, args: argparse.Namespace) -> int:
    views = [
        {"name": r.name, "visibility": r.visibility.value, "created_at": rfc3339(r.created_at)}
        for r in runtime.repositories.list()
    ]
    if args.json:
        _print_json(views)
    else:
        _print_table(["name", "visibility", "created_at"], views)
    return EXIT_OK


def _print_json(value: Any) -> None:
    print(json.dumps(value, indent=2))


def _print_table(columns: list[str], rows: list[dict[str, Any]]) -> None:
    cells = [[("-" if row[c] is None else str(row[c])) for c in columns] for row in rows]
    widths = [max([len(c)] + [len(r[i]) for r in cells]) for i, c in enumerate(columns)]
    print("  ".join(c.upper().ljust(w) for c, w in zip(columns, widths, strict=True)))
    for r in cells:
        print("  ".join(v.ljust(w) for v, w in zip(r, widths, strict=True)))


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
