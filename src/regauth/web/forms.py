"""The pages' forms, each a model written once: `boundary.read_form` decodes a body into one."""

from __future__ import annotations

import re
from typing import Literal

import msgspec

from regauth.domain.models import AccessLevel
from regauth.errors import BadRequest

Expiration = Literal["none", "30", "60", "90", "custom"]


class SignInForm(msgspec.Struct, frozen=True):
    username: str
    password: str


class CodeForm(msgspec.Struct, frozen=True):
    # The short-lived ticket the password step returned (never a session).
    ticket: str
    code: str


class NewTokenForm(msgspec.Struct, frozen=True):
    description: str
    access: Literal["delete", "write", "read", "public-read"]
    expiration: Expiration = "none"
    expiration_date: str = ""
    # Text areas: one entry a line (or comma-separated); left empty, no list.
    repositories: str = ""
    allow_from: str = ""

    @property
    def repository_list(self) -> list[str] | None:
        return entries(self.repositories)

    @property
    def networks(self) -> list[str] | None:
        return entries(self.allow_from)

    @property
    def level(self) -> AccessLevel:
        return AccessLevel(self.access)

    @property
    def expiry(self) -> str:
        """In `timefmt.parse_expiry`'s words: 'none', '30d', or the custom date."""
        if self.expiration == "custom":
            if not self.expiration_date:
                raise BadRequest("choose the custom expiration date")
            return self.expiration_date
        return "none" if self.expiration == "none" else f"{self.expiration}d"


def entries(text: str) -> list[str] | None:
    """A list typed into a text area, one entry a line or comma-separated; None if empty (what
    each entry may be is the service's to check)."""
    return [entry for entry in re.split(r"[\s,]+", text) if entry] or None


class RenameForm(msgspec.Struct, frozen=True):
    description: str


class RegenerateForm(msgspec.Struct, frozen=True):
    # How long the old secret keeps working (rotation.MAX_GRACE_SECONDS at most).
    grace: Literal["0", "1h", "1d", "7d"] = "0"


class NoFields(msgspec.Struct, frozen=True):
    """A form that is only its button (and its CSRF token)."""


class CodeOnlyForm(msgspec.Struct, frozen=True):
    code: str


class BrowserForm(msgspec.Struct, frozen=True):
    # The id of a page session, in the body: never in a URL, which access logs keep.
    session: str


class PasswordForm(msgspec.Struct, frozen=True):
    current_password: str
    new_password: str
    confirm_password: str
