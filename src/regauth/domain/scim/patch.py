"""SCIM PATCH (RFC 7644 §3.5.2): add, replace and remove, with and without a path, applied to
a resource's attributes (as `resources.normalize` keeps them) to give the new attributes,
which the caller checks again with `normalize` before anything is stored.

What identity providers send is taken as they send it: `op` in any case ("Replace", Entra
ID), a path-less value whose keys are paths (`{"name.givenName": "Ann"}`), `remove` of
`members` with the members to remove as its value, and a value filter that matches nothing
(`emails[type eq "work"].value`) making the element it describes."""

from __future__ import annotations

import copy
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from regauth.domain.scim.filters import (
    And,
    AttrPath,
    Compare,
    Filter,
    PatchPath,
    evaluate,
    lookup,
    parse_path,
)
from regauth.domain.scim.problems import INVALID_PATH, INVALID_VALUE, MUTABILITY, NO_TARGET, bad
from regauth.domain.scim.schemas import READ_ONLY, Attribute, ResourceType, Schema

OPS = ("add", "replace", "remove")
MAX_OPERATIONS = 1000


@dataclass(frozen=True, slots=True)
class Operation:
    op: str
    path: str | None
    value: Any


def apply(
    kind: ResourceType, attributes: dict[str, Any], operations: Sequence[Operation]
) -> dict[str, Any]:
    """The attributes after `operations`, in order; `attributes` is left as it was."""
    if not operations:
        raise bad(INVALID_VALUE, "Operations: at least one operation is needed")
    if len(operations) > MAX_OPERATIONS:
        raise bad(INVALID_VALUE, f"Operations: more than {MAX_OPERATIONS}")
    result = copy.deepcopy(attributes)
    for index, operation in enumerate(operations):
        op = operation.op.lower()
        if op not in OPS:
            raise bad(INVALID_VALUE, f"Operations[{index}].op: expected add, replace or remove")
        if operation.path is None or not operation.path.strip():
            _without_path(kind, result, op, operation.value)
        else:
            _at(kind, result, op, parse_path(operation.path), operation.value)
    return result


def _without_path(kind: ResourceType, result: dict[str, Any], op: str, value: Any) -> None:
    """add or replace with the attributes in `value`, each key a path of its own."""
    if op == "remove":
        raise bad(NO_TARGET, "remove needs a path")
    if not isinstance(value, dict):
        raise bad(INVALID_VALUE, f"{op} without a path needs an object of attributes")
    for key, item in value.items():
        if key.casefold() == "schemas":
            continue
        extension = kind.extension(key) if key[:4].lower() == "urn:" else None
        if extension is not None and isinstance(item, dict):
            for name, inner in item.items():
                _at(kind, result, op, PatchPath(AttrPath(extension.id, name)), inner)
        else:
            _at(kind, result, op, parse_path(key), item)


def _at(kind: ResourceType, result: dict[str, Any], op: str, target: PatchPath, value: Any) -> None:
    whole = _schema_named(kind, target)
    if whole is not None:
        # The path is a schema's URN: its attributes, all at once (the value's keys).
        if whole is kind.schema:
            _without_path(kind, result, op, value)
        elif op == "remove":
            result.pop(whole.id, None)
        elif not isinstance(value, dict):
            raise bad(INVALID_VALUE, f"{op} of {whole.id} needs an object of its attributes")
        else:
            for name, inner in value.items():
                if name.casefold() != "schemas":
                    _at(kind, result, op, PatchPath(AttrPath(whole.id, name)), inner)
        return
    found = kind.resolve(target.path)
    if found is None:
        schema = target.path.schema
        if schema is not None and kind.schema_of(schema) is None:
            return  # an extension regauth does not keep: ignored, as in a POST
        raise bad(INVALID_PATH, f"no attribute {str(target.path)[:100]!r}")
    attribute = found.attribute
    if attribute.mutability == READ_ONLY or (found.sub and found.sub.mutability == READ_ONLY):
        raise bad(MUTABILITY, f"{attribute.name} is read-only")
    scope = result
    if found.schema is not None and found.schema is not kind.schema:
        scope = result.setdefault(found.schema.id, {})
    name = attribute.name
    sub = found.sub.name if found.sub else None
    if target.where is not None:
        if not attribute.multi_valued or attribute.type != "complex":
            raise bad(INVALID_PATH, f"{name} has no values to filter")
        if target.sub is not None:
            inner = attribute.sub(target.sub)
            if inner is None:
                raise bad(INVALID_PATH, f"{name} has no sub-attribute {target.sub[:40]!r}")
            sub = inner.name
        _filtered(kind, scope, op, attribute, target, sub, value)
    elif sub is not None:
        _sub_attribute(scope, op, attribute, sub, value)
    else:
        _whole(scope, op, attribute, value)
    if found.schema is not None and found.schema is not kind.schema and not scope:
        del result[found.schema.id]


def _schema_named(kind: ResourceType, target: PatchPath) -> Schema | None:
    """The schema whose URN the whole path is (`urn:...:enterprise:2.0:User`): read as a URN
    `urn:...:2.0` and an attribute `User`, which no schema has."""
    path = target.path
    if path.schema is None or path.sub is not None or target.where is not None:
        return None
    return kind.schema_of(f"{path.schema}:{path.attr}")


def _whole(scope: dict[str, Any], op: str, attribute: Attribute, value: Any) -> None:
    name = attribute.name
    if op == "remove":
        if attribute.required:
            raise bad(MUTABILITY, f"{name} is required: it cannot be removed")
        if value is not None and attribute.multi_valued and name in scope:
            # Entra ID removes members by value: {"path": "members", "value": [{"value": id}]}
            gone = _as_list(value)
            scope[name] = [v for v in scope[name] if not any(_same(v, g) for g in gone)]
            if not scope[name]:
                del scope[name]
        else:
            scope.pop(name, None)
        return
    if value is None:
        if op == "replace":
            scope.pop(name, None)
        return
    if attribute.multi_valued:
        new = _as_list(value)
        if op == "replace":
            scope[name] = new
            return
        old = list(scope.get(name) or [])
        if any(isinstance(v, dict) and v.get("primary") is True for v in new):
            old = [
                {**v, "primary": False} if isinstance(v, dict) and "primary" in v else v
                for v in old
            ]
        scope[name] = old + [v for v in new if not any(_same(v, o) for o in old)]
    elif (
        attribute.type == "complex"
        and isinstance(value, dict)
        and isinstance(scope.get(name), dict)
    ):
        scope[name] = {**scope[name], **value}  # sub-attributes not given are left (§3.5.2.3)
    else:
        scope[name] = value


def _sub_attribute(
    scope: dict[str, Any], op: str, attribute: Attribute, sub: str, value: Any
) -> None:
    """`name.givenName`; on a multi-valued attribute (`emails.type`), every value."""
    name = attribute.name
    current = scope.get(name)
    targets = (
        current if isinstance(current, list) else [current] if isinstance(current, dict) else []
    )
    if op == "remove" or value is None:
        for element in targets:
            if isinstance(element, dict):
                element.pop(sub, None)
        _tidy(scope, name)
        return
    if not targets:
        scope[name] = [{sub: value}] if attribute.multi_valued else {sub: value}
        return
    for element in targets:
        if isinstance(element, dict):
            element[sub] = value


def _filtered(
    kind: ResourceType,
    scope: dict[str, Any],
    op: str,
    attribute: Attribute,
    target: PatchPath,
    sub: str | None,
    value: Any,
) -> None:
    assert target.where is not None
    name = attribute.name
    elements = scope.get(name) or []
    case_exact = _within(kind, target.path)
    matching = [
        e for e in elements if isinstance(e, dict) and evaluate(target.where, e, case_exact)
    ]
    if op == "remove":
        if sub is None:
            scope[name] = [e for e in elements if not any(e is m for m in matching)]
        else:
            for element in matching:
                element.pop(sub, None)
        _tidy(scope, name)
        return
    if not matching:
        made = _described(target.where)
        if made is None:
            raise bad(NO_TARGET, f"no value of {name} matches the filter")
        if sub is not None:
            made[sub] = value
        elif isinstance(value, dict):
            made.update(value)
        else:
            raise bad(INVALID_VALUE, f"{name}: expected an object")
        scope[name] = [*elements, made]
        return
    for element in matching:
        if sub is not None:
            element[sub] = value
        elif isinstance(value, dict):
            element.update(value)
        else:
            raise bad(INVALID_VALUE, f"{name}: expected an object")


def _within(kind: ResourceType, parent: AttrPath) -> Any:
    return lambda path: kind.case_exact(AttrPath(parent.schema, parent.attr, path.attr))


def _described(where: Filter) -> dict[str, Any] | None:
    """The element a filter of `eq`s joined by `and` describes (`type eq "work"`), or None."""
    if isinstance(where, Compare) and where.op == "eq" and where.path.sub is None:
        return {where.path.attr: where.value}
    if isinstance(where, And):
        left, right = _described(where.left), _described(where.right)
        if left is not None and right is not None:
            return {**left, **right}
    return None


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def _same(a: Any, b: Any) -> bool:
    """Two values of a multi-valued attribute are one when their `value`s are (members, emails),
    or, without one, when they are equal."""
    if isinstance(a, dict) and isinstance(b, dict):
        left, right = lookup(a, "value"), lookup(b, "value")
        if left is not None and right is not None:
            return bool(left[1] == right[1])
    return bool(a == b)


def _tidy(scope: dict[str, Any], name: str) -> None:
    value = scope.get(name)
    if isinstance(value, list):
        value = [v for v in value if v not in ({}, None)]
        scope[name] = value
    if value in ({}, [], None):
        scope.pop(name, None)
