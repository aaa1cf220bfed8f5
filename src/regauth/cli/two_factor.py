"""`regauth 2fa`: enroll, confirm and disable TOTP for a user, from the operator's terminal."""

from __future__ import annotations

import argparse

from regauth.cli.output import print_json
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, with_runtime
from regauth.domain.models import CLI_ACTOR
from regauth.http.models.account import RecoveryCodes, TwoFactorEnrollment
from regauth.runtime import Runtime


def register(commands: Subcommands) -> None:
    group = commands.add_parser("2fa", help="two-factor authentication (TOTP)").add_subparsers(
        dest="action", required=True
    )
    enroll = group.add_parser("enroll", help="start enrollment: print the secret and otpauth URI")
    enroll.add_argument("user")
    add_json(enroll)
    enroll.set_defaults(run=with_runtime(_enroll))

    confirm = group.add_parser("confirm", help="finish enrollment with a first code")
    confirm.add_argument("user")
    confirm.add_argument("code", help="the 6-digit code the authenticator app shows now")
    add_json(confirm)
    confirm.set_defaults(run=with_runtime(_confirm))

    disable = group.add_parser("disable", help="turn 2FA off (a lost device: no code needed)")
    disable.add_argument("user")
    disable.add_argument(
        "--code",
        help="a current code or a recovery code, if the user has one (default: none)",
    )
    disable.set_defaults(run=with_runtime(_disable))


def _enroll(runtime: Runtime, args: argparse.Namespace) -> int:
    enrollment = runtime.two_factor.enroll(runtime.users.get(args.user), CLI_ACTOR)
    if args.json:
        print_json(
            TwoFactorEnrollment(secret=enrollment.secret, otpauth_uri=enrollment.otpauth_uri)
        )
    else:
        print(enrollment.otpauth_uri)
        print(f"secret: {enrollment.secret}")
        print(f"Then: regauth 2fa confirm {args.user} <code from the app>")
    return EXIT_OK


def _confirm(runtime: Runtime, args: argparse.Namespace) -> int:
    codes = runtime.two_factor.confirm(runtime.users.get(args.user), CLI_ACTOR, args.code)
    if args.json:
        print_json(RecoveryCodes(recovery_codes=codes))
    else:
        print("two-factor authentication is on; recovery codes (each works once, shown once):")
        print("\n".join(codes))
    return EXIT_OK


def _disable(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.two_factor.disable(runtime.users.get(args.user), CLI_ACTOR, args.code)
    print(f"two-factor authentication is off for {args.user}")
    return EXIT_OK
