"""SCIM Users: each one an account made just in time by provisioning and linked to the
resource (source "scim", its id the subject), with the attributes the provisioner sent.

`active` is the account's state: false disables it as an admin's `regauth user disable` does
(web sessions end; every PAT and session token of the account is refused from the next
request on), true or absent enables it. DELETE disables the account and removes the resource
and its group memberships; the account, its name and its repositories stay, disabled, for an
admin to decide on. The account's name is made from `userName` once, at creation: a later
`userName` is stored and served, but a registry namespace is never renamed."""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Sequence
from typing import Any

from regauth.config import LiveConfig
from regauth.domain.clock import Clock
from regauth.domain.identities import ExternalIdentity, IdentitySource
from regauth.domain.models import Actor
from regauth.domain.scim import patch, resources
from regauth.domain.scim.core import ENTERPRISE_SCHEMA, USER_SCHEMA, USERS
from regauth.domain.scim.problems import INVALID_VALUE, bad, taken
from regauth.domain.scim.records import ScimUser
from regauth.errors import Conflict, Forbidden, NotFound
from regauth.services.audit import AuditLog
from regauth.services.provisioning import Provisioning
from regauth.services.scim.listing import Page, meta, page
from regauth.services.transactions import transactional
from regauth.services.users import UserService
from regauth.store.base import Store


def base_url(settings: LiveConfig) -> str:
    return settings.current.server.public_url.rstrip("/") + "/scim/v2"


class ScimUsers:
    def __init__(
        self,
        store: Store,
        users: UserService,
        provisioning: Provisioning,
        audit: AuditLog,
        *,
        settings: LiveConfig,
        clock: Clock,
    ) -> None:
        self._store = store
        self._users = users
        self._provisioning = provisioning
        self._audit = audit
        self._settings = settings
        self._clock = clock

    def find(self, filter_text: str | None, start_index: int, count: int | None) -> Page:
        groups: defaultdict[str, list[tuple[str, str]]] = defaultdict(list)
        for group in self._store.list_scim_groups():
            for member in group.members:
                groups[member].append((group.id, group.display_name))
        served = (self._render(u, groups[u.id]) for u in self._store.list_scim_users())
        return page(USERS, served, filter_text, start_index, count)

    def get(self, scim_id: str) -> dict[str, Any]:
        return self._served(self._record(scim_id))

    @transactional
    def create(self, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        attributes = resources.normalize(USERS, body)
        user_name = self._unique_user_name(attributes, None)
        scim_id = str(uuid.uuid4())
        identity = ExternalIdentity(
            IdentitySource.SCIM,
            "",
            scim_id,
            user_name,
            display_name=attributes.get("displayName"),
        )
        try:
            user = self._provisioning.provision(identity, actor)
        except Conflict:
            raise taken(
                f"userName {user_name[:100]!r} makes an account name that is taken by "
                "another account"
            ) from None
        except Forbidden:
            raise bad(
                INVALID_VALUE,
                f"userName {user_name[:100]!r} makes no valid account name (2-64 of a-z, 0-9, "
                "'.', '_', '-'; an e-mail address gives its local part)",
            ) from None
        record = self._store.create_scim_user(
            scim_id,
            user.id,
            external_id=attributes.get("externalId"),
            attributes=attributes,
            now=int(self._clock()),
        )
        self._audit.record(actor, "scim.user.create", user.name, scim_id=scim_id)
        if attributes.get("active") is False:
            self._users.set_disabled(user.name, actor, True)
        return self.get(record.id)

    @transactional
    def replace(self, scim_id: str, body: dict[str, Any], actor: Actor) -> dict[str, Any]:
        record = self._record(scim_id)
        return self._save(record, resources.normalize(USERS, body), actor)

    @transactional
    def patch(
        self, scim_id: str, operations: Sequence[patch.Operation], actor: Actor
    ) -> dict[str, Any]:
        record = self._record(scim_id)
        current = dict(record.attributes)
        if record.disabled:
            current["active"] = False  # what is served is what the operations start from
        changed = patch.apply(USERS, current, operations)
        return self._save(record, resources.normalize(USERS, changed, lenient_booleans=True), actor)

    @transactional
    def delete(self, scim_id: str, actor: Actor) -> None:
        record = self._record(scim_id)
        groups = self._store.delete_scim_user(scim_id)
        if not record.disabled:
            self._users.set_disabled(record.name, actor, True)
        self._audit.record(actor, "scim.user.delete", record.name, scim_id=scim_id)
        user = self._store.get_user_by_id(record.user_id)
        if groups and user is not None:
            self._provisioning.apply_groups(user, actor)  # the teams its groups gave go

    def _save(self, record: ScimUser, attributes: dict[str, Any], actor: Actor) -> dict[str, Any]:
        self._unique_user_name(attributes, record.id)
        self._store.update_scim_user(
            record.id,
            external_id=attributes.get("externalId"),
            attributes=attributes,
            now=int(self._clock()),
        )
        self._audit.record(actor, "scim.user.update", record.name, scim_id=record.id)
        disabled = attributes.get("active") is False
        if disabled != record.disabled:
            self._users.set_disabled(record.name, actor, disabled)
        return self.get(record.id)

    def _unique_user_name(self, attributes: dict[str, Any], own_id: str | None) -> str:
        name: str = attributes["userName"]  # normalize() made sure of it
        if not name.strip():
            raise bad(INVALID_VALUE, "userName must not be empty")
        folded = name.casefold()
        for other in self._store.list_scim_users():
            if (
                other.id != own_id
                and str(other.attributes.get("userName", "")).casefold() == folded
            ):
                raise taken(f"a User with userName {name[:100]!r} exists")
        return name

    def _record(self, scim_id: str) -> ScimUser:
        record = self._store.get_scim_user(scim_id)
        if record is None:
            raise NotFound(f"no User {scim_id[:64]!r}")
        return record

    def _served(self, record: ScimUser) -> dict[str, Any]:
        return self._render(record, self._store.scim_groups_of(record.user_id))

    def _render(self, record: ScimUser, groups: list[tuple[str, str]]) -> dict[str, Any]:
        base = base_url(self._settings)
        attributes = dict(record.attributes)
        body: dict[str, Any] = {
            "schemas": [
                USER_SCHEMA,
                *([ENTERPRISE_SCHEMA] if ENTERPRISE_SCHEMA in attributes else []),
            ],
            "id": record.id,
            **attributes,
        }
        if "active" in attributes or record.disabled:
            # The account's state, whoever set it (an admin may have disabled it by hand).
            body["active"] = not record.disabled
        if groups:
            body["groups"] = [
                {"value": gid, "$ref": f"{base}/Groups/{gid}", "display": name, "type": "direct"}
                for gid, name in groups
            ]
        body["meta"] = meta(
            "User", f"{base}/Users/{record.id}", record.created_at, record.updated_at, body
        )
        return body
