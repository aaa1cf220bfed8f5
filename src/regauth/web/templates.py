"""The pages' Jinja2 templates, loaded when the first page is rendered rather than when the app
is built: a worker that only answers /token never imports Jinja2 (~2 MiB of every worker;
README: Performance). The first page a worker renders pays the import, ~15 ms, once."""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING, Any

from regauth.domain.text import escape

if TYPE_CHECKING:
    import jinja2


class Templates:
    """The environment of regauth/web/templates: HTML-escaped, and a name the page does not
    pass is an error, not an empty string. `functions`: what every template may call. The
    `text` filter escapes what acts on the text around it (`domain.text.escape`), for a record's
    free text rendered without a view (views.py escapes its own)."""

    def __init__(self, functions: Mapping[str, Callable[[], Any]]) -> None:
        self._functions = dict(functions)

    @functools.cached_property
    def _environment(self) -> jinja2.Environment:
        import jinja2  # here, not at the top: see the module's docstring

        environment = jinja2.Environment(
            loader=jinja2.PackageLoader("regauth.web", "templates"),
            autoescape=jinja2.select_autoescape(default=True),
            undefined=jinja2.StrictUndefined,
        )
        environment.globals.update(self._functions)
        environment.filters["text"] = escape
        return environment

    def render(self, name: str, context: Mapping[str, Any]) -> str:
        return self._environment.get_template(name).render(context)
