"""SCIM PATCH on a resource's attributes (regauth.domain.scim.patch), and the attributes a
provisioner's body keeps (resources.normalize): a table of operations and what they make."""

from __future__ import annotations

from typing import Any

import pytest

from regauth.domain.scim.core import GROUPS, USERS
from regauth.domain.scim.patch import Operation, apply
from regauth.domain.scim.resources import normalize
from regauth.errors import BadRequest

ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
START: dict[str, Any] = {
    "userName": "ann",
    "name": {"givenName": "Ann"},
    "emails": [{"value": "ann@home.example", "type": "home", "primary": True}],
}


def op(kind: str, path: str | None = None, value: Any = None) -> Operation:
    return Operation(kind, path, value)


@pytest.mark.parametrize(
    ("operation", "changed"),
    [
        (op("add", "title", "CTO"), {"title": "CTO"}),
        (op("Replace", "title", "CTO"), {"title": "CTO"}),  # Entra ID's capital
        (op("replace", "active", "False"), {"active": False}),  # and its boolean string
        (op("add", "name.familyName", "Lee"), {"name": {"givenName": "Ann", "familyName": "Lee"}}),
        (op("replace", "name", {"familyName": "Lee"}), {"name": {"givenName": "Ann", "familyName": "Lee"}}),
        (op("remove", "name.givenName"), {"name": None}),
        (op("replace", value={"displayName": "Ann L", "name.familyName": "Lee"}),
         {"displayName": "Ann L", "name": {"givenName": "Ann", "familyName": "Lee"}}),
        (op("add", "emails", [{"value": "ann@corp.example", "type": "work", "primary": True}]),
         {"emails": [{"value": "ann@home.example", "type": "home", "primary": False},
                     {"value": "ann@corp.example", "type": "work", "primary": True}]}),
        (op("add", "emails", [{"value": "ann@home.example", "type": "home"}]), {}),  # there already
        (op("replace", 'emails[type eq "work"].value', "ann@corp.example"),
         {"emails": [*START["emails"], {"type": "work", "value": "ann@corp.example"}]}),  # made
        (op("replace", 'emails[type eq "home"].value', "ann@new.example"),
         {"emails": [{"value": "ann@new.example", "type": "home", "primary": True}]}),
        (op("remove", 'emails[type eq "home"]'), {"emails": None}),
        (op("remove", 'emails[type eq "nothing"]'), {}),
        (op("remove", "emails"), {"emails": None}),
        (op("add", f"{ENTERPRISE}:department", "R&D"), {ENTERPRISE: {"department": "R&D"}}),
        (op("add", ENTERPRISE, {"employeeNumber": "7", "manager": {"value": "m1"}}),
         {ENTERPRISE: {"employeeNumber": "7", "manager": {"value": "m1"}}}),
        (op("add", "urn:example:other:1.0:User:x", "kept nowhere"), {}),  # unknown extension
        (op("add", value={ENTERPRISE: {"division": "Ops"}}), {ENTERPRISE: {"division": "Ops"}}),
    ],
)  # fmt: skip
def test_an_operation_changes_what_it_names(operation: Operation, changed: dict[str, Any]) -> None:
    expected = {**START, **changed}
    assert normalize(USERS, apply(USERS, START, [operation]), lenient_booleans=True) == {
        k: v for k, v in expected.items() if v is not None
    }
    assert START["name"] == {"givenName": "Ann"}  # the input is left as it was


@pytest.mark.parametrize(
    ("operations", "scim_type"),
    [
        ([], "invalidValue"),
        ([op("copy", "title", "x")], "invalidValue"),
        ([op("remove")], "noTarget"),
        ([op("add", value="not an object")], "invalidValue"),
        ([op("add", "nosuch", "x")], "invalidPath"),
        ([op("add", "name.nosuch", "x")], "invalidPath"),
        ([op("replace", "groups", [])], "mutability"),
        ([op("replace", "id", "x")], "mutability"),
        ([op("remove", "userName")], "mutability"),
        ([op("replace", 'title[value eq "x"]', "y")], "invalidPath"),  # not multi-valued
        ([op("replace", 'emails[type co "w"]', {"value": "x"})], "noTarget"),  # makes nothing
        ([op("add", ENTERPRISE, "x")], "invalidValue"),
    ],
)
def test_a_bad_operation_is_refused(operations: list[Operation], scim_type: str) -> None:
    with pytest.raises(BadRequest) as info:
        apply(USERS, START, operations)
    assert info.value.fields == {"scimType": scim_type}


@pytest.mark.parametrize(
    ("operations", "members"),
    [
        ([op("add", "members", [{"value": "b"}])], ["a", "b"]),
        ([op("add", "members", [{"value": "a"}])], ["a"]),
        ([op("remove", 'members[value eq "a"]')], []),
        ([op("remove", "members", [{"value": "a"}])], []),  # Entra ID's removal
        ([op("replace", "members", [{"value": "c"}])], ["c"]),
        ([op("add", value={"members": [{"value": "b"}]})], ["a", "b"]),
        ([op("remove", "members")], []),
    ],
)
def test_group_members_change(operations: list[Operation], members: list[str]) -> None:
    start = {"displayName": "devs", "members": [{"value": "a"}]}
    result = normalize(GROUPS, apply(GROUPS, start, operations))
    assert [m["value"] for m in result.get("members", [])] == members


@pytest.mark.parametrize(
    ("body", "kept"),
    [
        ({"userName": "ann", "USERNAME": "ann"}, {"userName": "ann"}),  # names without case
        (
            {"userName": "ann", "id": "x", "meta": {}, "groups": [{"value": "g"}]},
            {"userName": "ann"},
        ),
        ({"userName": "ann", "password": "never-kept", "x-other": 1}, {"userName": "ann"}),
        ({"userName": "ann", "title": None, "emails": []}, {"userName": "ann"}),  # unassigned
        ({"urn:ietf:params:scim:schemas:core:2.0:User:userName": "ann"}, {"userName": "ann"}),
    ],
)
def test_normalize_keeps_what_the_schema_has(body: dict[str, Any], kept: dict[str, Any]) -> None:
    assert normalize(USERS, body) == kept


@pytest.mark.parametrize(
    "body",
    [
        {},
        {"userName": 1},
        {"userName": "ann", "active": "true"},  # strings are booleans only in a PATCH
        {
            "userName": "ann",
            "emails": [{"value": "a", "primary": True}, {"value": "b", "primary": True}],
        },
        {"userName": "ann", "name": ["x"]},
        {"userName": "ann", ENTERPRISE: "x"},
    ],
)
def test_normalize_refuses_values_of_the_wrong_type(body: dict[str, Any]) -> None:
    with pytest.raises(BadRequest) as info:
        normalize(USERS, body)
    assert info.value.fields == {"scimType": "invalidValue"}
