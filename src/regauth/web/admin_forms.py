"""The administration pages' forms and filters, each a model written once. A filter is a GET
form: its empty fields come as "" and mean "any"; dates are days (UTC), as a date input sends."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

import msgspec

from regauth.domain.hygiene import NotificationQuery, NotificationState
from regauth.domain.models import AuditQuery, TokenQuery, TokenState, Visibility
from regauth.domain.tokens import looks_like_token
from regauth.errors import BadRequest

PAGE_SIZE = 50
_DAY = 86400
Page = Annotated[int, msgspec.Meta(ge=1, le=1_000_000)]
# What the user page's buttons do, as the path says it: (field changed, its new value).
USER_CHANGES = {
    "disable": ("disabled", True),
    "enable": ("disabled", False),
    "grant-admin": ("admin", True),
    "revoke-admin": ("admin", False),
    "reset-two-factor": ("two_factor", False),
}


def day(name: str, text: str, *, end: bool = False) -> int | None:
    """ "2026-05-01" as the epoch of its midnight (UTC), or of its last second with `end`."""
    if not text:
        return None
    try:
        start = datetime.strptime(text, "%Y-%m-%d").replace(tzinfo=UTC)
    except ValueError:
        raise BadRequest(
            f"{name} must be a date like 2026-05-01", fields={name: "invalid"}
        ) from None
    return int(start.timestamp()) + (_DAY - 1 if end else 0)


class NewUserForm(msgspec.Struct, frozen=True):
    name: str
    password: str
    admin: str = ""  # a checkbox: "on" when ticked


class VisibilityForm(msgspec.Struct, frozen=True):
    name: str
    visibility: Literal["public", "private"]

    @property
    def level(self) -> Visibility:
        return Visibility(self.visibility)


class ExplainForm(msgspec.Struct, frozen=True):
    subject: Literal["user", "token"]
    name: str
    scope: str

    @property
    def who(self) -> str:
        """The user name or token id asked about; a whole token pasted by mistake is refused
        without being repeated (the answer page would otherwise show the secret)."""
        name = self.name.strip()
        if self.subject == "token" and looks_like_token(name):
            raise BadRequest("enter the token's id (as the tokens page shows it), not the token")
        return name


class TokenFilter(msgspec.Struct, frozen=True):
    """The admin API's token search (`GET /admin/v1/tokens`), as a page's filter form."""

    user: str = ""
    state: Literal["", "active", "inactive", "expired"] = ""
    kind: Literal["", "manual", "auto"] = ""
    last_used_before: str = ""
    page: Page = 1

    def query(self) -> TokenQuery:
        # One more than a page: whether there is a next page.
        return TokenQuery(
            owner=self.user or None,
            generated_by=self.kind or None,
            state=TokenState(self.state) if self.state else None,
            last_used_before=day("last_used_before", self.last_used_before),
            limit=PAGE_SIZE + 1,
            offset=(self.page - 1) * PAGE_SIZE,
        )


class AuditFilter(msgspec.Struct, frozen=True):
    """The admin API's audit search (`GET /admin/v1/audit`), as a page's filter form."""

    actor: str = ""
    action: str = ""
    since: str = ""
    until: str = ""
    page: Page = 1

    def query(self) -> AuditQuery:
        return AuditQuery(
            actor=self.actor or None,
            action=self.action or None,
            since=day("since", self.since),
            until=day("until", self.until, end=True),
            limit=PAGE_SIZE + 1,
            offset=(self.page - 1) * PAGE_SIZE,
        )


class NotificationFilter(msgspec.Struct, frozen=True):
    """The admin API's notification list (`GET /admin/v1/notifications`), as a filter form."""

    state: Literal["", "pending", "delivered", "failed"] = ""
    event: str = ""
    page: Page = 1

    def query(self) -> NotificationQuery:
        return NotificationQuery(
            state=NotificationState(self.state) if self.state else None,
            event=self.event.strip() or None,
            limit=PAGE_SIZE + 1,
            offset=(self.page - 1) * PAGE_SIZE,
        )
