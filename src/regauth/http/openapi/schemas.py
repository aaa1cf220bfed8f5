"""The models' JSON Schemas (msgspec writes JSON Schema 2020-12) as OpenAPI 3.0 Schema Objects."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

import msgspec

from regauth.http.models.base import Model

REF = "#/components/schemas/"
_NULL = {"type": "null"}
_JSON_TYPES = {str: "string", bool: "boolean", int: "integer", float: "number"}


def components(models: Iterable[type[Any]]) -> tuple[list[dict[str, Any]], dict[str, Any]]:
    """The schema of each model (a `$ref`) and the components they use, named as the models
    say (`schema_name`, e.g. Docker Hub's `accessToken`), in OpenAPI 3.0's dialect."""
    models = list(models)
    refs, found = msgspec.json.schema_components(models, ref_template=REF + "{name}")
    names = {cls.__name__: cls.schema_name or cls.__name__ for cls in _classes(Model)}
    renamed = {names.get(name, name): _one_paragraph(s) for name, s in found.items()}
    return [_rename(to_oas30(r), names) for r in refs], _rename(to_oas30(renamed), names)


def to_oas30(node: Any) -> Any:
    """JSON Schema 2020-12 to an OpenAPI 3.0 Schema Object, for what our models use: a union
    with null is `nullable`, `examples` a single `example`, `const` an `enum`; `$ref` takes no
    siblings (wrapped in `allOf`); titles (the class names) and empty `required` lists go."""
    if isinstance(node, list):
        return [to_oas30(item) for item in node]
    if not isinstance(node, dict):
        return node
    node = {key: to_oas30(value) for key, value in node.items() if key != "title"}
    for key in ("anyOf", "oneOf"):
        alternatives = node.get(key)
        if alternatives and _NULL in alternatives:
            rest = [a for a in alternatives if a != _NULL]
            del node[key]
            if len(rest) == 1:
                # The outer keywords (a field's description and example) win over the inner.
                node = {**(rest[0] if "$ref" not in rest[0] else {"allOf": rest}), **node}
            else:
                node[key] = rest
            node["nullable"] = True
            if node.get("default", ...) is None:
                del node["default"]
    if "examples" in node:
        node["example"] = node.pop("examples")[0]
    if "const" in node:
        node["enum"] = [node.pop("const")]
    if "enum" in node and "type" not in node:
        kinds = {_JSON_TYPES.get(type(v)) for v in node["enum"]}
        if len(kinds) == 1 and None not in kinds:
            node["type"] = kinds.pop()
    if node.get("required") == []:
        del node["required"]
    if "$ref" in node and len(node) > 1:
        node = {"allOf": [{"$ref": node.pop("$ref")}], **node}
    return node


def _one_paragraph(schema: dict[str, Any]) -> dict[str, Any]:
    """A component's description is its class's docstring: one paragraph, as the others."""
    if "description" in schema:
        schema = {**schema, "description": " ".join(schema["description"].split())}
    return schema


def _rename(node: Any, names: dict[str, str]) -> Any:
    if isinstance(node, list):
        return [_rename(item, names) for item in node]
    if not isinstance(node, dict):
        return node
    out = {key: _rename(value, names) for key, value in node.items()}
    ref = out.get("$ref")
    if isinstance(ref, str) and ref.startswith(REF):
        name = ref.removeprefix(REF)
        out["$ref"] = REF + names.get(name, name)
    return out


def _classes(cls: type[Model]) -> list[type[Model]]:
    return [cls, *(c for sub in cls.__subclasses__() for c in _classes(sub))]
