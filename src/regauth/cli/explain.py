"""`regauth explain`: what a user or token would get for a scope, and why the rest not."""

from __future__ import annotations

import argparse
from typing import Any

from regauth.cli.output import print_json, print_table
from regauth.cli.runner import EXIT_OK, Subcommands, add_json, with_runtime
from regauth.http.models.explain import Explanation as ExplanationView
from regauth.runtime import Runtime
from regauth.services.explain import Explanation

_COLUMNS = ["result", "type", "name", "action", "reason"]


def register(commands: Subcommands) -> None:
    explain = commands.add_parser(
        "explain",
        help="what a user or token would be granted for a scope, and why",
        description="Exits 0 whether or not anything is granted: the answer is the output.",
    )
    subject = explain.add_mutually_exclusive_group(required=True)
    subject.add_argument(
        "--user", metavar="NAME", help="as the user signing in with a password (this or --token)"
    )
    subject.add_argument(
        "--token",
        metavar="ID",
        help="as this token: personal, session or organization (its id or UUID; this or --user)",
    )
    explain.add_argument("scope", help="e.g. repository:alice/app:pull,push")
    add_json(explain)
    explain.set_defaults(run=with_runtime(_explain))


def _explain(runtime: Runtime, args: argparse.Namespace) -> int:
    service = runtime.explain
    if args.user is not None:
        explanation = service.for_user(args.user, args.scope)
    else:
        explanation = service.for_token(args.token, args.scope)
    if args.json:
        print_json(ExplanationView.of(explanation))
        return EXIT_OK
    print(f"subject     {explanation.subject}")
    refused = explanation.credential_refusal
    print(f"credential  {'refused: ' + refused if refused else 'usable'}")
    if explanation.allowed_from is not None:
        print(f"networks    only from {', '.join(explanation.allowed_from)}")
    print()
    print_table(_COLUMNS, _rows(explanation))
    return EXIT_OK


def _rows(explanation: Explanation) -> list[dict[str, Any]]:
    rows: list[dict[str, Any]] = []
    for grant in explanation.decision.granted:
        for action, reason in zip(grant.actions, grant.reasons, strict=True):
            # The policy writes each reason as "<action>: <why>"; the table has an action column.
            why = reason.removeprefix(f"{action}: ")
            rows.append(_row("granted", grant.type, grant.name, action, why))
    for denial in explanation.decision.denied:
        rows.append(_row("denied", denial.type, denial.name, denial.action, denial.reason))
    for rejected in explanation.rejected:
        rows.append(_row("invalid", None, rejected.raw, None, rejected.reason))
    return rows


def _row(
    result: str, type_: str | None, name: str, action: str | None, reason: str
) -> dict[str, Any]:
    return {"result": result, "type": type_, "name": name, "action": action, "reason": reason}
