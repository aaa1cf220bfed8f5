"""Registry scopes: parse `type[(class)]:name:actions`, merge per resource, print them back."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

# distribution's reference grammar for a repository path (reference/regexp.go), lower-case only.
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*"
REPOSITORY_NAME = re.compile(rf"{_COMPONENT}(?:/{_COMPONENT})*")
# An optional registry host[:port] prefix, as notary-style clients send it: the scope grammar's
# `resourcename := [ hostname '/' ] component [ '/' component ]*` (distribution
# docs/spec/auth/scope.md).
_HOST = r"[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*(?::[0-9]+)?"
_HOSTED_NAME = re.compile(rf"(?:{_HOST}/)?{_COMPONENT}(?:/{_COMPONENT})*")
_TYPE = re.compile(r"([a-z0-9]+)(?:\(([a-z0-9]+)\))?")
_ACTION = re.compile(r"[a-z]*|\*")

_KNOWN_ACTIONS = frozenset({"pull", "push", "delete", "*"})
MAX_NAME_LENGTH = 255
# A request carrying more scopes than this is hostile or broken; the rest are ignored.
MAX_SCOPES = 64


@dataclass(frozen=True, slots=True)
class Scope:
    """One requested resource with the set of actions asked for it."""

    type: str
    name: str
    actions: frozenset[str]

    def __str__(self) -> str:
        return f"{self.type}:{self.name}:{','.join(sorted(self.actions))}"


@dataclass(frozen=True, slots=True)
class RejectedScope:
    """A scope string that could not be parsed, with the reason (for logs and explain)."""

    raw: str
    reason: str


def parse_scope(raw: str) -> Scope | RejectedScope:
    """Parse one scope with the first-colon / last-colon rule, so names may hold host:port."""
    type_part, sep1, rest = raw.partition(":")
    name, sep2, actions_part = rest.rpartition(":")
    if not sep1 or not sep2:
        return RejectedScope(raw, "expected type:name:actions")
    if type_part == "repository":
        resource_type = type_part  # what nearly every client sends: no regex needed
    else:
        type_match = _TYPE.fullmatch(type_part)
        if type_match is None:
            return RejectedScope(raw, "invalid resource type")
        # The resource class is deprecated and ignored: repository(plugin) is a repository.
        resource_type = type_match.group(1)
    if not name or len(name) > MAX_NAME_LENGTH:
        return RejectedScope(raw, "invalid resource name")
    # The plain-path check is cheaper and what nearly every client sends.
    if (
        resource_type == "repository"
        and REPOSITORY_NAME.fullmatch(name) is None
        and _HOSTED_NAME.fullmatch(name) is None
    ):
        return RejectedScope(raw, "invalid repository name")
    actions = frozenset(actions_part.split(",")) - {""}
    if not actions <= _KNOWN_ACTIONS and not all(_ACTION.fullmatch(a) for a in actions):
        return RejectedScope(raw, "invalid action")
    return Scope(resource_type, name, actions)


def parse_scopes(values: Iterable[str]) -> tuple[list[Scope], list[RejectedScope]]:
    """Parse every value (each may hold several space-separated scopes) and merge per resource.

    Clients repeat `scope`, join several with spaces, and ask the same repository twice
    with different action lists; the registry checks one access entry per (type, name).
    """
    merged: dict[tuple[str, str], Scope] = {}
    rejected: list[RejectedScope] = []
    count = 0
    for value in values:
        for raw in value.split(" "):
            if not raw:
                continue
            count += 1
            if count > MAX_SCOPES:
                rejected.append(RejectedScope(raw, "too many scopes"))
                continue
            parsed = parse_scope(raw)
            if isinstance(parsed, RejectedScope):
                rejected.append(parsed)
                continue
            key = (parsed.type, parsed.name)
            seen = merged.get(key)
            if seen is not None:
                parsed = Scope(parsed.type, parsed.name, seen.actions | parsed.actions)
            merged[key] = parsed
    return list(merged.values()), rejected


def is_repository_name(name: str) -> bool:
    return len(name) <= MAX_NAME_LENGTH and REPOSITORY_NAME.fullmatch(name) is not None
