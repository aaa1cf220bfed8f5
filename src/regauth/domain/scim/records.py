"""SCIM resources as the store keeps them."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class ScimUser:
    """A User resource: the account it made (`user_id`, `name`), whether that account is
    disabled, and the attributes the provisioner sent (`resources.normalize`d)."""

    id: str  # the resource id regauth made (a UUID), also the SCIM identity's subject
    user_id: int
    name: str
    disabled: bool
    external_id: str | None
    attributes: dict[str, Any]
    created_at: int
    updated_at: int


@dataclass(frozen=True, slots=True)
class ScimGroup:
    id: str
    display_name: str
    external_id: str | None
    members: tuple[str, ...]  # the ids of the User resources in it
    created_at: int
    updated_at: int
