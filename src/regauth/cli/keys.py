"""`regauth keys ...` and `registry-config`: the signing keys and what the registry must trust."""

from __future__ import annotations

import argparse
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from regauth.cli.output import print_fields, print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json
from regauth.config import Config
from regauth.domain.clock import Clock
from regauth.domain.models import CLI_ACTOR
from regauth.domain.timefmt import rfc3339
from regauth.errors import Conflict
from regauth.runtime import load_keyring, open_runtime
from regauth.signing import rotation
from regauth.signing.keys import (
    BUNDLE_FILE,
    JWKS_FILE,
    KeyRing,
    export_jwks,
    export_pem,
    jwk_thumbprint_kid,
    libtrust_kid,
    unpublished,
)
from regauth.signing.rotation import (
    MIN_RETIRE_MARGIN_SECONDS,
    RETIRE_MARGIN_SECONDS,
    KeyState,
    key_states,
)

_STAGED_FLOW = (
    "A rotation with no refused token: `regauth keys rotate --stage`; reload (restart) the "
    "registry so it trusts the staged key; `regauth keys activate` (every serving process and "
    "replica signs with it within about a second, no restart); after the old tokens have "
    "expired, `regauth keys retire`; reload the registry once more (optional)."
)


def register(commands: Subcommands) -> None:
    keys = commands.add_parser(
        "keys", help="signing keys", description=_STAGED_FLOW
    ).add_subparsers(dest="action", required=True)
    export = keys.add_parser(
        "export",
        help="print what the registry must trust",
        description="Print the bundle (rootcertbundle, 2.8 and 3.x) or the JWKS (3.x) for "
        "every trusted key: the signing, staged and previous ones.",
    )
    export.add_argument(
        "--format", choices=["pem", "jwks"], default="pem", help="pem or jwks (default: pem)"
    )
    export.set_defaults(run=_export)

    show = keys.add_parser(
        "show",
        help="which key signs, which are trusted (staged, previous) and since when",
        description="The signing key (algorithm, key ids, since when it signs), then every "
        "trusted key with its state: active (signs), staged (published, not signing yet), "
        "previous (stopped signing; retirable after the time shown).",
    )
    add_json(show)
    show.set_defaults(run=_show)

    rotate = keys.add_parser(
        "rotate",
        help="make a new signing key, of [keys] algorithm (the old one stays trusted)",
        description="Without --stage: make a new key and sign with it at once (serving "
        "processes switch within a second, before a registry that was not reloaded trusts "
        "it: for a compromised key, or before anything serves). " + _STAGED_FLOW,
    )
    rotate.add_argument(
        "--stage",
        action="store_true",
        help="publish the new key in the bundle and JWKS without signing with it, until "
        "`regauth keys activate` (default: off, sign with it at once)",
    )
    rotate.set_defaults(run=_rotate)

    activate = keys.add_parser(
        "activate",
        help="sign with the staged key (no restart; reload the registry first)",
        description="Sign with the staged key from now on; the signing key becomes a "
        "previous one, still trusted. Serving processes (and replicas sharing [keys] dir) "
        "switch within about a second. Run it after the registry was reloaded with the "
        "bundle/JWKS that `rotate --stage` wrote.",
    )
    activate.set_defaults(run=_activate)

    retire = keys.add_parser(
        "retire",
        help="stop trusting previous keys no unexpired token can carry",
        description="Remove the previous keys that stopped signing more than [token] "
        "ttl_seconds + the margin ago from the key dir, the bundle and the JWKS (then reload "
        "the registry to stop trusting them there). Refuses, saying until when, while "
        "tokens of a key may still be valid.",
    )
    retire.add_argument(
        "--margin",
        type=_margin,
        default=RETIRE_MARGIN_SECONDS,
        metavar="SECONDS",
        help="extra wait after the token TTL: the registry's 60 s leeway, clock skew, "
        f"replicas seeing the files late (default: {RETIRE_MARGIN_SECONDS}, at least "
        f"{MIN_RETIRE_MARGIN_SECONDS})",
    )
    retire.set_defaults(run=_retire)

    publish = keys.add_parser(
        "publish",
        help="rewrite the bundle and JWKS from the keys (e.g. after changing kid_format)",
        description="Write rootcertbundle.pem and jwks.json for every trusted key, each key "
        "in the JWKS under both kid formats (libtrust and jwk-thumbprint). Other commands "
        "and `regauth serve` only create these files when they are missing. Reload the "
        "registry afterwards.",
    )
    publish.set_defaults(run=_publish)

    registry = commands.add_parser("registry-config", help="print the registry's auth.token stanza")
    registry.add_argument(
        "--registry-version",
        choices=["2", "3"],
        default="2",
        help="distribution 2.8 or 3.x (default: 2)",
    )
    registry.set_defaults(run=_registry_config)


def _margin(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if value < MIN_RETIRE_MARGIN_SECONDS:
        raise argparse.ArgumentTypeError(
            f"at least {MIN_RETIRE_MARGIN_SECONDS} (the registry accepts a token 60 s past its "
            "expiry)"
        )
    return value


def _now(clock: Clock) -> datetime:
    return datetime.fromtimestamp(clock(), UTC)


def _when(moment: datetime | None) -> str | None:
    return None if moment is None else rfc3339(moment.timestamp())


def _export(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keyring = load_keyring(config, clock)
    if args.format == "pem":
        sys.stdout.write(export_pem(keyring))
    else:
        print_json(export_jwks(keyring, config.keys.kid_format))
    return EXIT_OK


def _states(
    config: Config, keyring: KeyRing, margin: int = RETIRE_MARGIN_SECONDS
) -> list[KeyState]:
    return key_states(
        Path(config.keys.dir),
        keyring,
        config.keys.kid_format,
        ttl_seconds=config.token.ttl_seconds,
        margin_seconds=margin,
    )


def _key_view(state: KeyState) -> dict[str, Any]:
    public = state.certificate.public_key()
    return {
        "state": state.state,
        "kid": state.kid,
        "algorithm": state.algorithm,
        "since": _when(state.since),
        "retire_after": _when(state.retire_after),
        "libtrust_kid": libtrust_kid(public),  # type: ignore[arg-type]  # RSA or P-256 (loaded)
        "jwk_thumbprint_kid": jwk_thumbprint_kid(public),  # type: ignore[arg-type]
    }


def _show(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keyring = load_keyring(config, clock)
    active = keyring.active
    public = active.private_key.public_key()
    keys_dir = Path(config.keys.dir).resolve()
    states = _states(config, keyring)
    problems = unpublished(keys_dir, active, x5c=config.keys.x5c)
    view: dict[str, Any] = {
        "algorithm": active.algorithm,
        "kid": active.kid,
        "kid_format": config.keys.kid_format,
        "libtrust_kid": libtrust_kid(public),
        "jwk_thumbprint_kid": jwk_thumbprint_kid(public),
        "signing_since": _when(states[0].since),
        "certificate_expires_at": rfc3339(active.certificate.not_valid_after_utc.timestamp()),
        "staged_kid": None if keyring.staged is None else keyring.staged.kid,
        "previous_keys": len(keyring.previous),
        "published": "yes" if not problems else "; ".join(problems),
        "rootcertbundle": str(keys_dir / BUNDLE_FILE),
        "jwks": str(keys_dir / JWKS_FILE),
    }
    keys = [_key_view(state) for state in states]
    if args.json:
        print_json({**view, "keys": keys})
    else:
        print_fields(view)
        print()
        print_table(["state", "kid", "algorithm", "since", "retire_after"], keys)
    return EXIT_OK


def _audit(config: Config, clock: Clock, action: str, target: str, **details: Any) -> None:
    runtime = open_runtime(config, clock=clock)
    try:
        runtime.audit.record(CLI_ACTOR, action, target, **details)
    finally:
        runtime.close()


def _rotate(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keys_dir = Path(config.keys.dir)
    before = load_keyring(config, clock, check_algorithm=False).active.log_id
    if args.stage:
        keyring = rotation.stage_key(
            keys_dir, config.keys.algorithm, config.keys.kid_format, now=_now(clock)
        )
        assert keyring.staged is not None  # just made
        staged = keyring.staged
        _audit(config, clock, "keys.stage", staged.log_id, algorithm=staged.algorithm)
        print(staged.kid)  # stdout is exactly the new kid, for scripts
        print(
            f"# staged a new {staged.algorithm} key; {keyring.active.kid} still signs.\n"
            f"# Next: 1. reload (restart) the registry so it reads {keys_dir.resolve() / BUNDLE_FILE}"
            f" (registry 3.x: and {keys_dir.resolve() / JWKS_FILE}) and trusts the staged key;\n"
            "#       2. then `regauth keys activate`.",
            file=sys.stderr,
        )
        return EXIT_OK
    keyring = rotation.rotate_keyring(
        keys_dir, config.keys.algorithm, config.keys.kid_format, now=_now(clock)
    )
    active = keyring.active
    previous = before if before != active.log_id else None
    _audit(
        config,
        clock,
        "keys.rotate",
        active.log_id,
        algorithm=active.algorithm,
        previous_kid=previous,
    )
    print(active.kid)  # stdout is exactly the new kid, for scripts
    print(
        f"# new {active.algorithm} signing key, in use by serving processes within a second; "
        f"{len(keyring.previous)} earlier key(s) stay trusted.\n"
        f"# Next: reload (restart) the registry now so it reads {keys_dir.resolve() / BUNDLE_FILE}"
        f" (registry 3.x: and {keys_dir.resolve() / JWKS_FILE}): until then it refuses the new "
        "key's tokens.\n# For no refused token, next time: `regauth keys rotate --stage`, reload "
        "the registry, `regauth keys activate`.",
        file=sys.stderr,
    )
    return EXIT_OK


def _activate(config: Config, clock: Clock, _args: argparse.Namespace) -> int:
    keys_dir = Path(config.keys.dir)
    before = load_keyring(config, clock, check_algorithm=False).active
    keyring = rotation.activate_staged(
        keys_dir,
        config.keys.algorithm,
        config.keys.kid_format,
        now=_now(clock),
        x5c=config.keys.x5c,
    )
    active = keyring.active
    _audit(
        config,
        clock,
        "keys.activate",
        active.log_id,
        algorithm=active.algorithm,
        previous_kid=before.log_id,
    )
    print(active.kid)
    retire_after = _states(config, keyring)[1].retire_after
    print(
        f"# {active.kid} signs now (serving processes switch within about a second); {before.kid} "
        f"stays trusted.\n# Next: `regauth keys retire` after {_when(retire_after)} "
        f"([token] ttl_seconds {config.token.ttl_seconds} + {RETIRE_MARGIN_SECONDS} s margin).",
        file=sys.stderr,
    )
    return EXIT_OK


def _retire(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    retired, kept = rotation.retire_keys(
        Path(config.keys.dir),
        config.keys.algorithm,
        config.keys.kid_format,
        now=_now(clock),
        ttl_seconds=config.token.ttl_seconds,
        margin_seconds=args.margin,
    )
    for state in retired:
        public = state.certificate.public_key()
        name = libtrust_kid(public)  # type: ignore[arg-type]  # RSA or P-256 (loaded)
        _audit(config, clock, "keys.retire", name, algorithm=state.algorithm)
        print(state.kid)
    for state in kept:
        print(
            f"# {state.kid} stopped signing at {_when(state.since)}: its tokens may be valid "
            f"until {_when(state.retire_after)} (ttl {config.token.ttl_seconds} s + "
            f"{args.margin} s margin); run `regauth keys retire` again after that",
            file=sys.stderr,
        )
    if not retired:
        if kept:
            raise Conflict(
                "no key can be retired yet: tokens signed by every previous key may still be "
                f"valid (the first can go after {_when(min(s.retire_after for s in kept if s.retire_after))})"
            )
        print("# no previous keys: nothing to retire", file=sys.stderr)
        return EXIT_OK
    print(
        f"# retired {len(retired)} key(s); reload the registry to stop trusting them there.",
        file=sys.stderr,
    )
    return EXIT_OK


def _publish(config: Config, clock: Clock, _args: argparse.Namespace) -> int:
    keys_dir = Path(config.keys.dir)
    keyring = load_keyring(config, clock)
    if rotation.publish(keys_dir, keyring, config.keys.kid_format):
        _audit(config, clock, "keys.publish", keyring.active.log_id)
        print(
            f"# wrote {keys_dir.resolve() / BUNDLE_FILE} and {keys_dir.resolve() / JWKS_FILE}; "
            "reload the registry.",
            file=sys.stderr,
        )
    else:
        print("# the published files are up to date", file=sys.stderr)
    return EXIT_OK


def signing_algorithms(config: Config, keyring: KeyRing) -> list[str]:
    """Every algorithm of a trusted key, the signing one first: distribution 3.x refuses a
    token whose `alg` is not listed, so after ES256 -> RS256 the old ES256 tokens need it."""
    return list(dict.fromkeys(s.algorithm for s in _states(config, keyring)))


def _registry_config(config: Config, clock: Clock, args: argparse.Namespace) -> int:
    keyring = load_keyring(config, clock)  # make sure the files it names exist
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
            f"    signingalgorithms: [{', '.join(signing_algorithms(config, keyring))}]",
        ]
    print("\n".join(lines))
    return EXIT_OK
