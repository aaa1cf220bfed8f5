"""Account names (users and organizations): one registry path component, so `name/...` is theirs."""

from __future__ import annotations

import re

# A single registry path component (distribution's grammar).
USERNAME = re.compile(r"[a-z0-9]+(?:(?:[._]|__|[-]+)[a-z0-9]+)*")
MIN_LENGTH, MAX_LENGTH = 2, 64
# A team's name, within its organization.
TEAM_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,63}")
# What the audit trail records for a presented name that no account could have.
INVALID = "<invalid username>"


def is_valid(name: str) -> bool:
    return MIN_LENGTH <= len(name) <= MAX_LENGTH and USERNAME.fullmatch(name) is not None


def presented(name: str) -> str:
    """A name someone signed in with, as the audit trail may keep it.

    Only a name an account could have: anything else may be a password or a token typed into
    the username field, so it is never stored. An empty name (docker's identity-token sign-in
    sends none) stays empty: it says nothing.
    """
    return name if not name or is_valid(name) else INVALID
