"""SCIM Groups: named sets of SCIM Users. A group's displayName is what the `[groups]
mappings` map to organization teams (and owners), so every change of a group's name or
members brings the mapped memberships of each user it touches in line (provisioning's
apply_groups): the teams a mapping gave go when the group goes, those made by hand stay."""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from typing import Any

from regauth.config import LiveConfig
from regauth.domain.clock import Clock
from regauth.domain.models import Actor
from regauth.domain.scim import patch, resources
from regauth.domain.scim.core import GROUP_SCHEMA, GROUPS
from regauth.domain.scim.problems import INVALID_VALUE, bad
from regauth.domain.scim.records import ScimGroup
from regauth.errors import NotFound
from regauth.services.audit import AuditLog
from regauth.services.provisioning import Provisioning
from regauth.services.scim.listing import Page, meta, page
from regauth.services.scim.users import base_url
from regauth.services.transactions import transactional
from regauth.store.base import Store


class ScimGroups:
    def __init__(
        self,
        store: Store,
        provisioning: Provisioning,
        audit: AuditLog,
        *,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._provisioning = provisioning
        self._audit = audit
        self._settings = settings
        self._clock = clock

    def find(self, filter_text: str | None, start_index: int, count: int | None) -> Page:
        served = (self._render(g) for g in self._store.list_scim_groups())
        return page(GROUPS, served, filter_text, start_index, count)

    def get(self, group_id: str) -> dict[str, Any]:
        return self._render(self._record(group_id))

    @transactional
    def create(self, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        attributes = resources.normalize(GROUPS, body)
        group_id = str(uuid.uuid4())
        members = self._member_ids(attributes)
        self._store.create_scim_group(
            group_id,
            display_name=attributes["displayName"],
            external_id=attributes.get("externalId"),
            now=int(self._clock()),
        )
        self._store.set_scim_group_members(group_id, members)
        self._audit.record(actor, "scim.group.create", attributes["displayName"], scim_id=group_id)
        self._apply(members, actor)
        return self.get(group_id)

    @transactional
    def replace(self, group_id: str, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        return self._save(self._record(group_id), resources.normalize(GROUPS, body), actor)

    @transactional
    def patch(
        self, group_id: str, operations: Sequence[patch.Operation], actor: Actor
    ) -> dict[str, Any]:
        group = self._record(group_id)
        current: dict[str, Any] = {"displayName": group.display_name}
        if group.external_id is not None:
            current["externalId"] = group.external_id
        if group.members:
            current["members"] = [{"value": m} for m in group.members]
        changed = patch.apply(GROUPS, current, operations)
        return self._save(group, resources.normalize(GROUPS, changed, lenient_booleans=True), actor)

    @transactional
    def delete(self, group_id: str, actor: Actor) -> None:
        group = self._record(group_id)
        was = self._user_ids(group.members)
        self._store.delete_scim_group(group_id)
        self._audit.record(actor, "scim.group.delete", group.display_name, scim_id=group_id)
        self._apply(was, actor)

    def _save(self, group: ScimGroup, attributes: dict[str, Any], actor: Actor) -> dict[str, Any]:
        was = self._user_ids(group.members)
        members = self._member_ids(attributes)
        name = attributes["displayName"]
        self._store.update_scim_group(
            group.id,
            display_name=name,
            external_id=attributes.get("externalId"),
            now=int(self._clock()),
        )
        self._store.set_scim_group_members(group.id, members)
        self._audit.record(actor, "scim.group.update", name, scim_id=group.id)
        # A new name maps (or no longer maps) every member; otherwise only who came and went.
        self._apply(was | members if name != group.display_name else was ^ members, actor)
        return self.get(group.id)

    def _member_ids(self, attributes: dict[str, Any]) -> set[int]:
        """The accounts of the Users `members` names; a 400 for anything else."""
        user_ids = set()
        for member in attributes.get("members", []):
            if str(member.get("type", "User")).casefold() != "user":
                raise bad(INVALID_VALUE, "members: only Users can be members (no nested groups)")
            value = member.get("value")
            user = self._store.get_scim_user(value) if isinstance(value, str) else None
            if user is None:
                raise bad(INVALID_VALUE, f"members: no User {str(value)[:64]!r}")
            user_ids.add(user.user_id)
        return user_ids

    def _user_ids(self, scim_ids: Iterable[str]) -> set[int]:
        found = (self._store.get_scim_user(i) for i in scim_ids)
        return {u.user_id for u in found if u is not None}

    def _apply(self, user_ids: Iterable[int], actor: Actor) -> None:
        for user_id in sorted(user_ids):
            user = self._store.get_user_by_id(user_id)
            if user is not None:
                self._provisioning.apply_groups(user, actor)

    def _record(self, group_id: str) -> ScimGroup:
        group = self._store.get_scim_group(group_id)
        if group is None:
            raise NotFound(f"no Group {group_id[:64]!r}")
        return group

    def _render(self, group: ScimGroup) -> dict[str, Any]:
        base = base_url(self._settings)
        body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "id": group.id}
        if group.external_id is not None:
            body["externalId"] = group.external_id
        body["displayName"] = group.display_name
        if group.members:
            body["members"] = [
                {"value": m, "$ref": f"{base}/Users/{m}", "type": "User"} for m in group.members
            ]
        body["meta"] = meta(
            "Group", f"{base}/Groups/{group.id}", group.created_at, group.updated_at, body
        )
        return body
