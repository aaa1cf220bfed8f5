"""`regauth keys ...` and `registry-config`: the signing keys and what the registry must trust."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regauth.cli.output import print_fields, print_json
from regauth.cli.runner import EXIT_OK, Subcommands, add_json
from regauth.config import Config
from regauth.domain.clock import Clock
from regauth.domain.models import CLI_ACTOR
from regauth.domain.timefmt import rfc3339
from regauth.runtime import load_keyring, open_runtime
from regauth.signing.keys import (
    BUNDLE_FILE,
    JWKS_FILE,
    KeyRing,
    KidFormat,
    export_jwks,
    export_pem,
    jwk_thumbprint_kid,
    libtrust_kid,
    rotate_keyring,
)


def register(commands: Subcommands) -> None:
    keys = commands.add_parser("keys", help="signing keys").add_subparsers(
        dest="action", required=True
    )
    export = keys.add_parser("export", help="print what the registry must trust")
    export.add_argument("--format", choices=["pem", "jwks"], default="pem")
    export.set_defaults(run=_export)

    show = keys.add_parser("show", help="the active signing key: algorithm, key ids, expiry")
    add_json(show)
    show.set_defaults(run=_show)

    rotate = keys.add_parser(
        "rotate",
        help="make a new active signing key (the old one stays trusted)",
        description="Make a new signing key. Then reload the registry (it must trust the new "
        "key first), then restart `regauth serve` (it signs with the key it started with).",
    )
    rotate.set_defaults(run=_rotate)

    registry = commands.add_parser("registry-config", help="print the registry's auth.token stanza")
    registry.add_argument("--registry-version", choices=["2", "3"], default="2")
    registry.set_defaults(run=_registry_config)


def _export(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keyring = load_keyring(config, clock)
    if args.format == "pem":
        sys.stdout.write(export_pem(keyring))
    else:
        print_json(export_jwks(keyring, config.keys.kid_format))
    return EXIT_OK


def _show(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keyring = load_keyring(config, clock)
    active = keyring.active
    public = active.private_key.public_key()
    keys_dir = Path(config.keys.dir).resolve()
    view: dict[str, Any] = {
        "algorithm": active.algorithm,
        "kid": active.kid,
        "kid_format": config.keys.kid_format,
        "libtrust_kid": libtrust_kid(public),
        "jwk_thumbprint_kid": jwk_thumbprint_kid(public),
        "certificate_expires_at": rfc3339(active.certificate.not_valid_after_utc.timestamp()),
        "previous_keys": len(keyring.previous),
        "rootcertbundle": str(keys_dir / BUNDLE_FILE),
        "jwks": str(keys_dir / JWKS_FILE),
    }
    if args.json:
        print_json(view)
    else:
        print_fields(view)
    return EXIT_OK


def _rotate(config: Config, clock: Clock, _args: argparse.Namespace) -> int:
    keyring = rotate_keyring(
        Path(config.keys.dir),
        config.keys.algorithm,
        config.keys.kid_format,
        now=datetime.fromtimestamp(clock(), UTC),
    )
    runtime = open_runtime(config, clock=clock)
    try:
        runtime.audit.record(
            CLI_ACTOR,
            "keys.rotate",
            keyring.active.kid,
            algorithm=keyring.active.algorithm,
            previous_kid=_retired_kid(keyring, config.keys.kid_format),
        )
    finally:
        runtime.close()
    keys_dir = Path(config.keys.dir).resolve()
    print(keyring.active.kid)  # stdout is exactly the new kid, for scripts
    print(
        f"# new {keyring.active.algorithm} signing key; {len(keyring.previous)} earlier key(s) "
        "stay trusted.\n"
        f"# Next: 1. restart the registry so it reloads {keys_dir / BUNDLE_FILE}"
        f" (registry 3.x: and {keys_dir / JWKS_FILE}), so it trusts the new key;\n"
        "#       2. then restart `regauth serve`, which signs with the key it started with.",
        file=sys.stderr,
    )
    return EXIT_OK


def _retired_kid(keyring: KeyRing, kid_format: KidFormat) -> str | None:
    """The kid of the key this rotation retired: the newest previous key, listed after the active."""
    keys = export_jwks(keyring, kid_format)["keys"]
    return str(keys[1]["kid"]) if len(keys) > 1 else None


def _registry_config(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    load_keyring(config, clock)  # make sure the files it names exist
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
        f'    rootcertbundle: "{keys_dir / BUNDLE_FILE}"',
    ]
    if args.registry_version == "3":
        lines += [
            f'    jwks: "{keys_dir / JWKS_FILE}"',
            f"    signingalgorithms: [{config.keys.algorithm}]",
        ]
    print("\n".join(lines))
    return EXIT_OK
