"""The route table and its handlers agree: what the table names is what the handler takes and
returns (mypy checks it too), in types without `Any`; the hand-read `/token` routes read the
fields their models document."""

from __future__ import annotations

import ast
import inspect
import typing
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web

from regauth.http.handlers import token
from regauth.http.handlers.common import Body, Params
from regauth.http.models.base import Model
from regauth.http.models.registry import OAuthTokenRequest, RegistryTokenQuery
from regauth.http.routes import ROUTES
from regauth.http.routing import Route


def _name(route: Route) -> str:
    return f"{route.method} {route.template}"


def mentions_any(annotation: Any) -> bool:
    if annotation is Any:
        return True
    return any(mentions_any(arg) for arg in typing.get_args(annotation))


@pytest.mark.parametrize("route", ROUTES, ids=_name)
def test_the_handler_takes_and_returns_the_routes_models(route: Route) -> None:
    hints = typing.get_type_hints(route.endpoint)
    params = list(inspect.signature(route.endpoint).parameters)
    assert not [n for n, hint in hints.items() if mentions_any(hint)], hints
    assert hints[params[0]] is web.Request
    if route.by_hand:  # reads its input itself, through handlers/common.py
        assert params == ["request"]
    elif route.body is not None:
        assert hints[params[1]] == Body[route.body]
    elif route.query is not None:
        assert hints[params[1]] == Params[route.query]
    else:
        assert params == ["request"]
    returned = hints["return"]
    if isinstance(returned, type) and issubclass(returned, Model):
        assert returned is route.response
    else:  # the hand-tuned /token answers and the document itself
        assert returned is web.Response
        assert route.by_hand or route.response is None


def test_summaries_and_operation_ids() -> None:
    assert all(route.summary and route.description for route in ROUTES)
    ids = [route.operation_id for route in ROUTES]
    assert len(ids) == len(set(ids))


def _read_names(tree: ast.AST) -> set[str]:
    """The names `token.py` reads: `query_text(request, "service")`, `form.get("scope", "")`."""
    names = set()
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call) or not node.args:
            continue
        func = node.func
        if isinstance(func, ast.Name) and func.id.startswith("query_") and len(node.args) > 1:
            literal = node.args[1]
        elif isinstance(func, ast.Attribute) and func.attr == "get":
            literal = node.args[0]
        else:
            continue
        if isinstance(literal, ast.Constant) and isinstance(literal.value, str):
            names.add(literal.value)
    return names


def _function(tree: ast.Module, *names: str) -> ast.Module:
    return ast.Module(
        [
            n
            for n in tree.body
            if isinstance(n, ast.AsyncFunctionDef | ast.FunctionDef) and n.name in names
        ],
        [],
    )


def test_the_token_endpoints_read_what_their_models_document() -> None:
    tree = ast.parse(Path(inspect.getfile(token)).read_text())
    get = _read_names(_function(tree, "get_token"))
    post = _read_names(_function(tree, "post_token", "_grant_credentials"))
    assert get == set(RegistryTokenQuery.__struct_fields__)
    assert post == set(OAuthTokenRequest.__struct_fields__)


def test_the_rule_sees_what_a_handler_reads() -> None:
    source = "def f(request, form):\n    query_text(request, 'a')\n    form.get('b', '')\n"
    assert _read_names(ast.parse(source)) == {"a", "b"}
