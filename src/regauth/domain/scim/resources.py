"""A resource's attributes as a provisioner sends them, checked against its resource type:
names made canonical (they are case-insensitive), values of the declared type, read-only and
unknown attributes left out, `null` and empty values dropped (RFC 7643 §2.5: unassigned).
And the other way: a served resource cut down to the `attributes` or `excludedAttributes`
asked for (RFC 7644 §3.9)."""

from __future__ import annotations

import re
from typing import Any

from regauth.domain.scim.filters import AttrPath, parse_path
from regauth.domain.scim.problems import INVALID_PATH, INVALID_VALUE, bad
from regauth.domain.scim.schemas import COMMON, READ_ONLY, Attribute, ResourceType

MAX_VALUES = 1000  # in one multi-valued attribute; the body limit bounds it anyway
_DATE_TIME = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})")
_TYPES = {
    "string": "a string",
    "reference": "a string",
    "binary": "a string",
    "dateTime": "a date-time string",
    "boolean": "a boolean",
    "integer": "an integer",
    "decimal": "a number",
    "complex": "an object",
}


def normalize(
    kind: ResourceType, body: dict[str, Any], *, lenient_booleans: bool = False
) -> dict[str, Any]:
    """The attributes of `body` that `kind` keeps: core and common ones at the top, each
    extension's in an object under its URN. `lenient_booleans`: "True"/"False" strings are
    booleans (Entra ID sends them in PATCH values)."""
    out: dict[str, Any] = {}
    for key, value in body.items():
        if key.casefold() in ("schemas", "id", "meta"):
            continue  # read-only (id, meta) or the resource's own business (schemas)
        extension = kind.extension(key) if key[:4].lower() == "urn:" else None
        if extension is not None:
            if value is None:
                continue
            if not isinstance(value, dict):
                raise bad(INVALID_VALUE, f"{extension.id}: expected an object")
            kept = _object(extension.attributes, value, extension.id, lenient_booleans)
            if kept:
                out[extension.id] = kept
            continue
        attribute = _top(kind, key)
        if attribute is None or attribute.mutability == READ_ONLY:
            continue  # unknown attributes are ignored: providers send more than is kept
        checked = _checked(attribute, value, attribute.name, lenient_booleans)
        if checked is not None:
            out[attribute.name] = checked
    for attribute in kind.schema.attributes:
        if attribute.required and attribute.name not in out:
            raise bad(INVALID_VALUE, f"{attribute.name} is required")
    return out


def _top(kind: ResourceType, key: str) -> Attribute | None:
    """A top-level key: a common or core attribute, plain or as `urn:...:User:name`."""
    if key[:4].lower() == "urn:":
        schema, _, name = key.rpartition(":")
        if schema.casefold() != kind.schema.id.casefold():
            return None
        key = name
    folded = key.casefold()
    common = next((a for a in COMMON if a.name.casefold() == folded), None)
    return common if common is not None else kind.schema.attribute(key)


def _object(
    attributes: tuple[Attribute, ...], value: dict[str, Any], where: str, lenient: bool
) -> dict[str, Any]:
    folded = {a.name.casefold(): a for a in attributes}
    out: dict[str, Any] = {}
    for key, item in value.items():
        attribute = folded.get(key.casefold())
        if attribute is None or attribute.mutability == READ_ONLY:
            continue
        checked = _checked(attribute, item, f"{where}.{attribute.name}", lenient)
        if checked is not None:
            out[attribute.name] = checked
    return out


def _checked(attribute: Attribute, value: Any, where: str, lenient: bool) -> Any:
    if value is None:
        return None
    if attribute.multi_valued:
        if not isinstance(value, list):
            raise bad(INVALID_VALUE, f"{where}: expected an array")
        if len(value) > MAX_VALUES:
            raise bad(INVALID_VALUE, f"{where}: more than {MAX_VALUES} values")
        items = [_single(attribute, v, f"{where}[{i}]", lenient) for i, v in enumerate(value)]
        kept = [v for v in items if v not in (None, {})]
        primaries = sum(1 for v in kept if isinstance(v, dict) and v.get("primary") is True)
        if primaries > 1:
            raise bad(INVALID_VALUE, f"{where}: more than one value is primary")
        return kept or None
    single = _single(attribute, value, where, lenient)
    return None if single == {} else single


def _single(attribute: Attribute, value: Any, where: str, lenient: bool) -> Any:
    if value is None:
        return None
    kind = attribute.type
    if kind == "complex":
        if not isinstance(value, dict):
            raise bad(INVALID_VALUE, f"{where}: expected {_TYPES[kind]}")
        return _object(attribute.sub_attributes, value, where, lenient)
    if kind == "boolean":
        if lenient and isinstance(value, str) and value.lower() in ("true", "false"):
            return value.lower() == "true"
        if isinstance(value, bool):
            return value
    elif kind == "integer":
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    elif kind == "decimal":
        if isinstance(value, int | float) and not isinstance(value, bool):
            return value
    elif isinstance(value, str):
        if kind == "dateTime" and not _DATE_TIME.fullmatch(value):
            raise bad(INVALID_VALUE, f"{where}: expected {_TYPES[kind]} (RFC 3339)")
        return value
    raise bad(INVALID_VALUE, f"{where}: expected {_TYPES.get(kind, 'a string')}")


# Asked-for attributes (RFC 7644 §3.9)


# (extension URN or None, attribute) -> its sub-attributes, or None for all of it; the
# attribute "" stands for a whole extension (`attributes=urn:...:enterprise:2.0:User`).
Selection = dict[tuple[str | None, str], set[str] | None]


def selection(kind: ResourceType, text: str | None) -> Selection | None:
    """`attributes=userName,name.givenName` as what to keep; None when not asked."""
    if text is None or not text.strip():
        return None
    chosen: Selection = {}
    for part in text.split(","):
        whole = kind.extension(part.strip())
        if whole is not None:
            chosen[(whole.id, "")] = None
            continue
        path = parse_path(part.strip())
        if path.where is not None:
            raise bad(INVALID_PATH, "attributes are named without filters")
        found = kind.resolve(path.path)
        if found is None:
            continue  # an attribute this type does not have is simply not there
        key = (
            None if found.schema in (None, kind.schema) else found.schema.id,
            found.attribute.name,
        )
        if found.sub is None:
            chosen[key] = None
        elif key not in chosen or chosen[key] is not None:
            subs = chosen.setdefault(key, set())
            assert subs is not None
            subs.add(found.sub.name)
    return chosen


def project(
    resource: dict[str, Any],
    kind: ResourceType,
    include: Selection | None,
    exclude: Selection | None,
) -> dict[str, Any]:
    """`resource` (as served) with only the included, or without the excluded, attributes;
    `schemas` and `id` are always returned."""
    if include is None and exclude is None:
        return resource
    out: dict[str, Any] = {}
    for key, value in resource.items():
        if key in ("schemas", "id"):
            out[key] = value
            continue
        extension = kind.extension(key)
        if extension is not None and isinstance(value, dict):
            whole = _keep((extension.id, ""), value, include, exclude)
            if include is not None and whole is not None:
                out[key] = value
                continue
            if exclude is not None and whole is None:
                continue
            inner = {
                name: kept
                for name, item in value.items()
                if (kept := _keep((extension.id, name), item, include, exclude)) is not None
            }
            if inner:
                out[key] = inner
            continue
        kept = _keep((None, key), value, include, exclude)
        if kept is not None:
            out[key] = kept
    return out


def _keep(
    key: tuple[str | None, str], value: Any, include: Selection | None, exclude: Selection | None
) -> Any:
    if include is not None:
        if key not in include:
            return None
        subs = include[key]
        return value if subs is None else _subs(value, lambda s: s in subs)
    assert exclude is not None
    if key not in exclude:
        return value
    subs = exclude[key]
    return None if subs is None else _subs(value, lambda s: s not in subs)


def _subs(value: Any, wanted: Any) -> Any:
    if isinstance(value, list):
        kept = [_subs(v, wanted) for v in value]
        return [v for v in kept if v] or None
    if isinstance(value, dict):
        return {k: v for k, v in value.items() if wanted(k)} or None
    return value


def attr_path(text: str) -> AttrPath:
    """A plain attribute path (`name.givenName`), for a sort or a search body's list."""
    path = parse_path(text)
    if path.where is not None:
        raise bad(INVALID_PATH, "expected an attribute name without a filter")
    return path.path
