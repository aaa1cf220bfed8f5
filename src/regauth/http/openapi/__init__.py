"""The OpenAPI 3.0 document, generated from the route table (`http/routes.py`) and the models.

    .venv/bin/python -m regauth.http.openapi          # rewrites src/regauth/http/openapi.json
    .venv/bin/python -m regauth.http.openapi --check  # exits 1 if the committed one is stale

The committed file is what `GET /openapi.json` serves (nothing is generated at start-up), and
`tests/http/test_openapi.py` fails when it is stale.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import msgspec

import regauth
from regauth.http.models.base import NoContent, Query
from regauth.http.models.errors import Error
from regauth.http.openapi import prose
from regauth.http.openapi.schemas import components, to_oas30
from regauth.http.routes import ROUTES
from regauth.http.routing import JSON, PathParam, Route

PATH = Path(__file__).resolve().parent.parent / "openapi.json"
COMMAND = "python -m regauth.http.openapi"
_ERROR_REF = {"$ref": "#/components/schemas/Error"}


def render() -> str:
    """The document as committed: indented, UTF-8, one newline at the end."""
    return json.dumps(document(), indent=2, ensure_ascii=False) + "\n"


def document() -> dict[str, Any]:
    models = _models(ROUTES)
    refs, schemas = components(models)
    ref = {model: r for model, r in zip(models, refs, strict=True)}
    paths: dict[str, dict[str, Any]] = {}
    parameters: dict[str, Any] = {}
    shared: set[int] = set()
    for route in ROUTES:
        item = paths.setdefault(route.template, {})
        if route.params:
            item["parameters"] = [
                {"$ref": f"#/components/parameters/{p.component}"} for p in route.params
            ]
            parameters.update({p.component: _path_parameter(p) for p in route.params})
        item[route.method.lower()] = _operation(route, ref, shared)
    used_shared = {
        name: _error_answer(status, description)
        for status, (name, description) in prose.SHARED_ANSWERS.items()
        if status in shared
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": prose.TITLE,
            "version": regauth.__version__,
            "description": prose.DESCRIPTION,
            "license": prose.LICENSE,
        },
        "tags": [{"name": name, "description": text} for name, text in prose.TAGS],
        "paths": paths,
        "components": {
            "securitySchemes": prose.SECURITY_SCHEMES,
            "headers": prose.HEADERS,
            "parameters": parameters,
            "responses": used_shared,
            "schemas": schemas,
        },
    }


def _models(routes: tuple[Route, ...]) -> list[type[Any]]:
    """The body and response models the document needs, each once, in the table's order."""
    found: dict[type[Any], None] = {Error: None}
    for route in routes:
        for model in (route.body, route.response):
            if model is not None and model is not NoContent:
                found[model] = None
    return list(found)


def _operation(route: Route, ref: dict[type[Any], Any], shared: set[int]) -> dict[str, Any]:
    operation: dict[str, Any] = {
        "tags": [route.tag],
        "operationId": route.operation_id,
        "summary": route.summary,
        "description": route.description,
        "security": [dict(s) for s in route.access.security],
    }
    if route.addition:
        operation["x-regauth-addition"] = True
    if route.query is not None:
        operation["parameters"] = _query_parameters(route.query)
    if route.body is not None:
        media = {route.media: {"schema": ref[route.body]}}
        operation["requestBody"] = {"required": True, "content": media}
    operation["responses"] = _answers(route, ref, shared)
    return operation


def _answers(route: Route, ref: dict[type[Any], Any], shared: set[int]) -> dict[str, Any]:
    ok: dict[str, Any] = {"description": route.ok}
    if route.response is None:  # the document itself
        ok["content"] = {JSON: {"schema": {"type": "object"}}}
    elif route.response is not NoContent:
        ok["content"] = {JSON: {"schema": ref[route.response]}}
    own = {answer.status: answer.description for answer in route.errors}
    statuses = set(route.access.errors) | set(own)
    if route.body is not None:
        statuses |= {400, 413, 415}  # the input boundary's
    if route.query is not None:
        statuses.add(400)
    answers = {str(route.status): ok}
    for status in sorted(statuses):
        description = own.get(status)
        if description is None:
            shared.add(status)
            name = prose.SHARED_ANSWERS[status][0]
            answers[str(status)] = {"$ref": f"#/components/responses/{name}"}
        else:
            answers[str(status)] = _error_answer(status, description)
    return answers


def _error_answer(status: int, description: str) -> dict[str, Any]:
    answer: dict[str, Any] = {"description": description}
    header = prose.ERROR_HEADERS.get(status)
    if header is not None:
        answer["headers"] = {header: {"$ref": f"#/components/headers/{header}"}}
    answer["content"] = {JSON: {"schema": _ERROR_REF}}
    return answer


def _path_parameter(param: PathParam) -> dict[str, Any]:
    parameter: dict[str, Any] = {
        "name": param.name,
        "in": "path",
        "required": True,
        "description": param.description,
        "schema": {"type": "string"},
    }
    if param.example is not None:
        parameter["example"] = param.example
    return parameter


def _query_parameters(model: type[Query]) -> list[dict[str, Any]]:
    """A query model's fields as parameters: the description and example beside the schema, as
    OpenAPI has them, and no `nullable` (an absent parameter is how a query says "none")."""
    (schema,), found = msgspec.json.schema_components([model], ref_template="{name}")
    assert "$ref" in schema
    properties = found[schema["$ref"]]["properties"]
    parameters = []
    for name, raw in properties.items():
        field = to_oas30(raw)
        field.pop("nullable", None)
        parameter: dict[str, Any] = {"name": name, "in": "query"}
        if "description" in field:
            parameter["description"] = field.pop("description")
        if "example" in field:
            parameter["example"] = field.pop("example")
        for part in field.pop("allOf", []):  # an enum, written out here: it is short
            named = to_oas30(found[part["$ref"]])
            field.update({k: v for k, v in named.items() if k != "description"})
        parameter["schema"] = field
        if field.get("type") == "array":
            parameter.update(style="form", explode=True)
        parameters.append(parameter)
    return parameters
