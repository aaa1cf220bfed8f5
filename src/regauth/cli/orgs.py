"""`regauth org|team|org-token ...`: organizations, over the same services as /v2/orgs."""

from __future__ import annotations

import argparse
import sys
from typing import Any

from regauth.cli.output import fields, print_fields, print_json, print_table
from regauth.cli.runner import (
    EXIT_OK,
    EXIT_USAGE,
    Subcommands,
    add_allow_from,
    add_json,
    with_runtime,
)
from regauth.cli.tokens import add_regenerate_options
from regauth.domain.durations import HELP as SPAN_HELP
from regauth.domain.models import (
    CLI_ACTOR,
    PULL,
    PUSH,
    Organization,
    OrgRole,
    OrgTokenRecord,
    Team,
    TeamPermission,
)
from regauth.domain.timefmt import parse_expiry, rfc3339
from regauth.domain.tokens import looks_like_token, parse_token
from regauth.http.models.admin import OrganizationView
from regauth.http.models.hygiene import RegeneratedOrgAccessToken
from regauth.http.models.org_tokens import CreatedOrgAccessToken, OrgAccessToken
from regauth.http.models.orgs import OrgGroup, OrgMemberView
from regauth.runtime import Runtime

_PATTERN_HELP = "relative to the organization: 'app' (ORG/app), a prefix 'ci/*', or '*'"
_TOKEN_ID_HELP = "the token's public id or uuid (or the whole token, e.g. one found leaked)"
_REPO_HELP = "PATH:pull or PATH:pull,push, PATH inside the organization (e.g. acme/app); repeatable"


def register(commands: Subcommands) -> None:
    _register_orgs(commands)
    _register_teams(commands)
    _register_org_tokens(commands)


# argparse wiring


def _register_orgs(commands: Subcommands) -> None:
    org = commands.add_parser("org", help="manage organizations and their members")
    actions = org.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an organization with its first owner")
    create.add_argument("name")
    create.add_argument("--owner", required=True, help="an existing user, the first owner")
    create.set_defaults(run=with_runtime(_org_create))

    listing = actions.add_parser("list", help="list organizations")
    add_json(listing)
    listing.set_defaults(run=with_runtime(_org_list))

    delete = actions.add_parser("delete", help="delete an organization, its teams and tokens")
    delete.add_argument("name")
    delete.set_defaults(run=with_runtime(_org_delete))

    members = actions.add_parser("members", help="list an organization's members")
    members.add_argument("org")
    add_json(members)
    members.set_defaults(run=with_runtime(_org_members))

    set_member = actions.add_parser("set-member", help="add a member, or change their role")
    set_member.add_argument("org")
    set_member.add_argument("user")
    set_member.add_argument("role", choices=[r.value for r in OrgRole])
    set_member.set_defaults(run=with_runtime(_org_set_member))

    remove = actions.add_parser("remove-member", help="remove a member (and them from its teams)")
    remove.add_argument("org")
    remove.add_argument("user")
    remove.set_defaults(run=with_runtime(_org_remove_member))


def _register_teams(commands: Subcommands) -> None:
    team = commands.add_parser("team", help="manage an organization's teams")
    actions = team.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create a team")
    create.add_argument("org")
    create.add_argument("team")
    create.add_argument("--description", default="")
    create.set_defaults(run=with_runtime(_team_create))

    listing = actions.add_parser("list", help="list an organization's teams")
    listing.add_argument("org")
    add_json(listing)
    listing.set_defaults(run=with_runtime(_team_list))

    show = actions.add_parser("show", help="show a team: members and repository permissions")
    show.add_argument("org")
    show.add_argument("team")
    add_json(show)
    show.set_defaults(run=with_runtime(_team_show))

    delete = actions.add_parser("delete", help="delete a team and its permissions")
    delete.add_argument("org")
    delete.add_argument("team")
    delete.set_defaults(run=with_runtime(_team_delete))

    for name, help_text, command in [
        ("add-member", "add an organization member to a team", _team_add_member),
        ("remove-member", "remove a user from a team", _team_remove_member),
    ]:
        change = actions.add_parser(name, help=help_text)
        change.add_argument("org")
        change.add_argument("team")
        change.add_argument("user")
        change.set_defaults(run=with_runtime(command))

    grant = actions.add_parser(
        "grant", help="set what a team may do on matching repositories ('none' removes the rule)"
    )
    grant.add_argument("org")
    grant.add_argument("team")
    grant.add_argument("pattern", help=_PATTERN_HELP)
    grant.add_argument("permission", choices=[p.value for p in TeamPermission] + ["none"])
    grant.set_defaults(run=with_runtime(_team_grant))


def _register_org_tokens(commands: Subcommands) -> None:
    token = commands.add_parser("org-token", help="manage organization access tokens")
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser("create", help="create an organization access token (printed once)")
    create.add_argument("org")
    create.add_argument("--label", required=True)
    create.add_argument("--description", default="")
    create.add_argument(
        "--repo",
        action="append",
        type=_repo_grant,
        default=[],
        metavar="PATH:ACTIONS",
        help=_REPO_HELP,
    )
    create.add_argument("--public-read", action="store_true", help="may also pull any public repo")
    create.add_argument("--expires", default="none", help="none, 30d, 90d, Nd, or YYYY-MM-DD")
    add_allow_from(create, "token")
    create.add_argument("--json", action="store_true", help="the token's JSON, with the secret")
    create.set_defaults(run=with_runtime(_token_create))

    listing = actions.add_parser("list", help="list an organization's access tokens")
    listing.add_argument("org")
    add_json(listing)
    listing.set_defaults(run=with_runtime(_token_list))

    show = actions.add_parser("show", help="show one organization access token (never its secret)")
    show.add_argument("org")
    show.add_argument("id", help=_TOKEN_ID_HELP)
    add_json(show)
    show.set_defaults(run=with_runtime(_token_show))

    for name, help_text, active in [
        ("deactivate", "refuse the token at /token until activated again", False),
        ("activate", "accept a deactivated token again", True),
    ]:
        change = actions.add_parser(name, help=help_text)
        change.add_argument("org")
        change.add_argument("id", help=_TOKEN_ID_HELP)
        change.set_defaults(run=with_runtime(_token_set_active), active=active)

    delete = actions.add_parser("delete", help="delete an organization access token for good")
    delete.add_argument("org")
    delete.add_argument("id", help=_TOKEN_ID_HELP)
    delete.set_defaults(run=with_runtime(_token_delete))

    regenerate = actions.add_parser(
        "regenerate",
        help="a new secret for the same token (printed once); the old one stops working",
        description="Keeps the token's id, label, resources and expiry; the old secret stops "
        "working at once, or after --grace.",
        epilog=f"SPAN is {SPAN_HELP}.",
    )
    regenerate.add_argument("org")
    regenerate.add_argument("id", help=_TOKEN_ID_HELP)
    add_regenerate_options(regenerate)
    regenerate.set_defaults(run=with_runtime(_token_regenerate))


def _repo_grant(text: str) -> tuple[str, frozenset[str]]:
    """argparse type for --repo: `acme/app:pull,push` (whether the path is the org's: the service)."""
    path, _, actions = text.rpartition(":")
    words = frozenset(a.strip() for a in actions.split(","))
    if not path or not words <= {PULL, PUSH}:
        raise argparse.ArgumentTypeError(f"expected PATH:pull or PATH:pull,push, got {text!r}")
    return path, words


# org


def _org_create(runtime: Runtime, args: argparse.Namespace) -> int:
    owner = runtime.users.get(args.owner)
    org = runtime.organizations.create(args.name, owner, CLI_ACTOR)
    print(f"created organization {org.name}, owned by {owner.name}")
    return EXIT_OK


def _org_list(runtime: Runtime, args: argparse.Namespace) -> int:
    # The shape of GET /admin/v1/orgs's items.
    views = [OrganizationView.of(o) for o in runtime.organizations.all()]
    if args.json:
        print_json(views)
    else:
        print_table(["name", "created_at"], views)
    return EXIT_OK


def _org_delete(runtime: Runtime, args: argparse.Namespace) -> int:
    runtime.organizations.delete(runtime.organizations.get(args.name), CLI_ACTOR)
    print(f"deleted organization {args.name}")
    return EXIT_OK


def _org_members(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    views = [OrgMemberView.of(m) for m in runtime.organizations.members(org)]
    if args.json:
        print_json(views)
    else:
        rows = [
            {"username": v.username, "role": v.role.lower(), "teams": ", ".join(v.groups) or None}
            for v in views
        ]
        print_table(["username", "role", "teams"], rows)
    return EXIT_OK


def _org_set_member(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    user = runtime.users.get(args.user)
    runtime.organizations.set_member(org, user, OrgRole(args.role), CLI_ACTOR)
    print(f"{user.name} is {'an owner' if args.role == 'owner' else 'a member'} of {org.name}")
    return EXIT_OK


def _org_remove_member(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    user = runtime.users.get(args.user)
    runtime.organizations.remove_member(org, user, CLI_ACTOR)
    print(f"{user.name} is no longer a member of {org.name}")
    return EXIT_OK


# team


def _team(runtime: Runtime, args: argparse.Namespace) -> tuple[Organization, Team]:
    org = runtime.organizations.get(args.org)
    return org, runtime.organizations.team(org, args.team)


def _team_create(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    team = runtime.organizations.create_team(org, args.team, args.description, CLI_ACTOR)
    print(f"created team {org.name}/{team.name}")
    return EXIT_OK


def _team_list(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    views = [OrgGroup.of(t) for t in runtime.organizations.teams(org)]
    if args.json:
        print_json(views)
    else:
        print_table(
            ["name", "description", "members", "permissions"], [_team_row(v) for v in views]
        )
    return EXIT_OK


def _team_show(runtime: Runtime, args: argparse.Namespace) -> int:
    _, team = _team(runtime, args)
    view = OrgGroup.of(team)
    if args.json:
        print_json(view)
    else:
        print_fields({"org": team.org, **_team_row(view)})
    return EXIT_OK


def _team_row(view: OrgGroup) -> dict[str, Any]:
    """A team for people: lists joined, an empty description shown as '-'."""
    rules = [f"{p.pattern}={p.permission.value}" for p in view.permissions]
    return {
        "name": view.name,
        "description": view.description or None,
        "members": ", ".join(view.members) or None,
        "permissions": ", ".join(rules) or None,
    }


def _team_delete(runtime: Runtime, args: argparse.Namespace) -> int:
    org, team = _team(runtime, args)
    runtime.organizations.delete_team(org, team, CLI_ACTOR)
    print(f"deleted team {org.name}/{team.name}")
    return EXIT_OK


def _team_add_member(runtime: Runtime, args: argparse.Namespace) -> int:
    org, team = _team(runtime, args)
    user = runtime.users.get(args.user)
    runtime.organizations.add_team_member(org, team, user, CLI_ACTOR)
    print(f"{user.name} is in team {org.name}/{team.name}")
    return EXIT_OK


def _team_remove_member(runtime: Runtime, args: argparse.Namespace) -> int:
    org, team = _team(runtime, args)
    user = runtime.users.get(args.user)
    runtime.organizations.remove_team_member(org, team, user, CLI_ACTOR)
    print(f"{user.name} is no longer in team {org.name}/{team.name}")
    return EXIT_OK


def _team_grant(runtime: Runtime, args: argparse.Namespace) -> int:
    org, team = _team(runtime, args)
    permission = None if args.permission == "none" else TeamPermission(args.permission)
    runtime.organizations.set_permission(org, team, args.pattern, permission, CLI_ACTOR)
    target = f"{org.name}/{args.pattern}"
    if permission is None:
        print(f"team {org.name}/{team.name} has no rule for {target} any more")
    else:
        print(f"team {org.name}/{team.name} may {permission.value} {target}")
    return EXIT_OK


# org-token


def _token_create(runtime: Runtime, args: argparse.Namespace) -> int:
    if not args.repo and not args.public_read:
        # A token with neither could do nothing at all: almost surely a forgotten flag.
        print(
            "regauth: give at least one --repo PATH:pull[,push], or --public-read", file=sys.stderr
        )
        return EXIT_USAGE
    org = runtime.organizations.get(args.org)
    resources: dict[str, frozenset[str]] = {}
    for path, actions in args.repo:  # the same path twice adds up, as in the HTTP API
        resources[path] = resources.get(path, frozenset()) | actions
    created = runtime.org_tokens.create(
        org,
        CLI_ACTOR,
        label=args.label,
        description=args.description,
        resources=resources,
        public_read=args.public_read,
        expires_at=parse_expiry(args.expires, now=runtime.clock()),
        allow_from=args.allow_from,
    )
    view = CreatedOrgAccessToken.created(created.record, runtime.clock(), str(created.token))
    if args.json:
        print_json(view)
    else:
        print(str(created.token))  # stdout is exactly the secret, for scripts
        print(
            f"# organization token {created.record.id} for {org.name}: {_resources_text(view)}, "
            f"expires {view.expires_at or 'never'}. It is shown only once; "
            f"sign in with `docker login -u {org.name}`.",
            file=sys.stderr,
        )
    return EXIT_OK


def _token_list(runtime: Runtime, args: argparse.Namespace) -> int:
    org = runtime.organizations.get(args.org)
    now = runtime.clock()
    views = [OrgAccessToken.of(r, now) for r in runtime.org_tokens.for_org(org)]
    if args.json:
        print_json(views)
    else:
        columns = ["id", "label", "state", "resources", "created_at", "last_used_at", "expires_at"]
        print_table(columns, [_token_fields(v) for v in views])
    return EXIT_OK


def _token_show(runtime: Runtime, args: argparse.Namespace) -> int:
    _, record = _org_token(runtime, args)
    view = OrgAccessToken.of(record, runtime.clock())
    if args.json:
        print_json(view)
    else:
        print_fields(_token_fields(view))
    return EXIT_OK


def _token_fields(view: OrgAccessToken) -> dict[str, Any]:
    """A token for people: regauth's public id (the view's `id` is the Hub's uuid), one-line resources."""
    rest = {k: v for k, v in fields(view).items() if k not in ("id", "token_id")}
    return {
        "id": view.token_id,
        "uuid": view.id,
        **rest,
        "description": view.description or None,
        "resources": _resources_text(view),
    }


def _resources_text(view: OrgAccessToken) -> str:
    """`acme/app:pull,push */*/public:pull`, from the Hub-shaped resources."""
    return " ".join(
        f"{r.path}:{','.join(s.removeprefix('scope-image-') for s in r.scopes)}"
        for r in view.resources
    )


def _token_set_active(runtime: Runtime, args: argparse.Namespace) -> int:
    org, record = _org_token(runtime, args)
    record = runtime.org_tokens.update(
        org, record, CLI_ACTOR, label=None, active=args.active, resources=None, public_read=None
    )
    state = OrgAccessToken.of(record, runtime.clock()).state.value
    print(f"organization token {record.id} of {org.name} is {state}")
    return EXIT_OK


def _token_delete(runtime: Runtime, args: argparse.Namespace) -> int:
    org, record = _org_token(runtime, args)
    runtime.org_tokens.delete(org, record, CLI_ACTOR)
    print(f"deleted organization token {record.id} of {org.name}")
    return EXIT_OK


def _token_regenerate(runtime: Runtime, args: argparse.Namespace) -> int:
    org, record = _org_token(runtime, args)
    made = runtime.rotation.regenerate_org_token(org, record, CLI_ACTOR, grace_seconds=args.grace)
    until = made.previous_valid_until
    if args.json:
        print_json(
            RegeneratedOrgAccessToken.made(made.record, runtime.clock(), str(made.token), until)
        )
    else:
        print(str(made.token))  # stdout is exactly the secret, for scripts
        print(
            f"# organization token {made.record.id} of {org.name} has a new secret, shown only "
            f"once; the old one stops working {f'at {rfc3339(until)}' if until else 'now'}.",
            file=sys.stderr,
        )
    return EXIT_OK


def _org_token(runtime: Runtime, args: argparse.Namespace) -> tuple[Organization, OrgTokenRecord]:
    org = runtime.organizations.get(args.org)
    # A whole token (say, a leaked one) is cut down to its public id.
    token_id = parse_token(args.id).public_id if looks_like_token(args.id) else args.id
    return org, runtime.org_tokens.get(org, token_id)
