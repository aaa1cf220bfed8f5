"""SCIM filters and PATCH paths (regauth.domain.scim.filters): raw text -> tree, the errors
that say where a filter went wrong, and what a tree matches."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from regauth.domain.scim.core import USERS
from regauth.domain.scim.filters import (
    And,
    AttrPath,
    Compare,
    Filter,
    Not,
    Or,
    PatchPath,
    Present,
    ValuePath,
    evaluate,
    parse_filter,
    parse_path,
)
from regauth.errors import BadRequest

USER_NAME = AttrPath(None, "userName")
CORE = "urn:ietf:params:scim:schemas:core:2.0:User"


@pytest.mark.parametrize(
    ("text", "tree"),
    [
        ('userName eq "bjensen"', Compare(USER_NAME, "eq", "bjensen")),
        ('userName EQ "bjensen"', Compare(USER_NAME, "eq", "bjensen")),  # any case
        ('externalId eq "a\\"b"', Compare(AttrPath(None, "externalId"), "eq", 'a"b')),
        ('userName eq "*)(uid=*"', Compare(USER_NAME, "eq", "*)(uid=*")),  # a value, no more
        ('name.familyName co "O\'Malley"', Compare(AttrPath(None, "name", "familyName"), "co", "O'Malley")),
        (f'{CORE}:userName sw "J"', Compare(AttrPath(CORE, "userName"), "sw", "J")),
        ("title pr", Present(AttrPath(None, "title"))),
        ("active eq true", Compare(AttrPath(None, "active"), "eq", True)),
        ("x eq null", Compare(AttrPath(None, "x"), "eq", None)),
        ("x gt -1.5e2", Compare(AttrPath(None, "x"), "gt", -150.0)),
        (
            'a pr or b pr and c pr',  # and binds tighter
            Or(Present(AttrPath(None, "a")), And(Present(AttrPath(None, "b")), Present(AttrPath(None, "c")))),
        ),
        (
            '(a pr or b pr) and c pr',
            And(Or(Present(AttrPath(None, "a")), Present(AttrPath(None, "b"))), Present(AttrPath(None, "c"))),
        ),
        ("not (a pr)", Not(Present(AttrPath(None, "a")))),
        (
            'emails[type eq "work" and value co "@x"]',
            ValuePath(
                AttrPath(None, "emails"),
                And(Compare(AttrPath(None, "type"), "eq", "work"), Compare(AttrPath(None, "value"), "co", "@x")),
            ),
        ),
    ],
)  # fmt: skip
def test_a_filter_parses_into_its_tree(text: str, tree: Filter) -> None:
    assert parse_filter(text) == tree


@pytest.mark.parametrize(
    ("text", "where"),
    [
        ("", "the filter is empty"),
        ("userName eq", "unexpected end at the end"),
        ("userName eq bjensen", "expected a value"),  # unquoted
        ('userName regex "x"', "unknown operator 'regex' at position 10"),
        ('userName eq "x" )', "unexpected text at position 17"),
        ("*)(uid=*", "unexpected character at position 1"),
        ("(userName pr", "expected ')' at the end"),
        ('emails[type eq "work"', "expected ']' at the end"),
        ('userName eq "x" or', "expected an attribute name at the end"),
        ('userName eq "tab\there"', "unexpected character"),  # raw control characters
        ("(" * 17 + "a pr" + ")" * 17, "nested deeper than 16 levels"),
        ("a" * 2049, "longer than 2048 characters"),
        ("not a pr", "unknown operator 'a'"),  # `not` takes parentheses
    ],
)
def test_a_bad_filter_says_where_it_went_wrong(text: str, where: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_filter(text)
    assert where in info.value.message
    assert info.value.fields == {"scimType": "invalidFilter"}


@pytest.mark.parametrize(
    ("text", "path"),
    [
        ("members", PatchPath(AttrPath(None, "members"))),
        ("name.givenName", PatchPath(AttrPath(None, "name", "givenName"))),
        (
            'members[value eq "2819c223"]',
            PatchPath(AttrPath(None, "members"), Compare(AttrPath(None, "value"), "eq", "2819c223")),
        ),
        (
            'emails[type eq "work"].value',
            PatchPath(AttrPath(None, "emails"), Compare(AttrPath(None, "type"), "eq", "work"), "value"),
        ),
        (
            "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User:manager.value",
            PatchPath(AttrPath("urn:ietf:params:scim:schemas:extension:enterprise:2.0:User", "manager", "value")),
        ),
    ],
)  # fmt: skip
def test_a_patch_path_parses(text: str, path: PatchPath) -> None:
    assert parse_path(text) == path


@pytest.mark.parametrize(
    "text", ["", "members[", 'members[value eq "x"] extra', "a.b[c pr]", "[x]"]
)
def test_a_bad_patch_path_is_an_invalid_path(text: str) -> None:
    with pytest.raises(BadRequest) as info:
        parse_path(text)
    assert info.value.fields == {"scimType": "invalidPath"}


ALICE: dict[str, Any] = {
    "id": "2819c223",
    "userName": "Alice@Corp.example",
    "externalId": "Ext-1",
    "active": True,
    "name": {"givenName": "Alice"},
    "emails": [
        {"value": "alice@corp.example", "type": "work"},
        {"value": "a@home.example", "type": "home"},
    ],
}


@pytest.mark.parametrize(
    ("text", "matches"),
    [
        ('userName eq "alice@corp.example"', True),  # userName: no case
        ('externalId eq "ext-1"', False),  # externalId: caseExact
        ('externalId eq "Ext-1"', True),
        ('id eq "2819C223"', False),  # id: caseExact
        ('userName sw "ALICE"', True),
        ('userName ew ".example"', True),
        ('userName co "corp"', True),
        ('userName ne "bob"', True),
        ("active eq true", True),
        ('active eq "true"', False),  # a string is not a boolean
        ("title pr", False),
        ('title ne "x"', True),  # an absent attribute is not equal to anything
        ('name.givenName eq "alice"', True),
        ('emails co "home"', True),  # a complex attribute compares its value
        ('emails[type eq "work" and value co "corp"]', True),
        ('emails[type eq "work" and value co "home"]', False),
        ('emails.type eq "home"', True),
        ('not (emails[type eq "other"])', True),
        ('userName gt "a"', True),
        ('userName lt "a"', False),
        ('userName eq "x" or active eq true', True),
        ('userName eq "x" and active eq true', False),
    ],
)
def test_a_filter_matches_what_it_says(text: str, matches: bool) -> None:
    assert evaluate(parse_filter(text), ALICE, USERS.case_exact) is matches


@given(st.text(alphabet=st.sampled_from('ab urn:.[]()"\\\x00eqprandotsw1-$'), max_size=60))
def test_any_text_parses_or_is_a_bad_request(text: str) -> None:
    for parse in (parse_filter, parse_path):
        problems = []
        try:
            parse(text)
        except BadRequest as exc:  # anything else fails the test
            problems.append(exc.fields["scimType"])
        assert set(problems) <= {"invalidFilter", "invalidPath"}


@given(st.text(max_size=40), st.sampled_from(["eq", "co", "sw", "gt"]))
def test_any_quoted_value_is_one_value(value: str, op: str) -> None:
    # What a client puts inside the quotes (quotes, parentheses, `*)(uid=*`) stays a value.
    tree = parse_filter(f"userName {op} {json.dumps(value)}")
    assert tree == Compare(USER_NAME, op, value)
