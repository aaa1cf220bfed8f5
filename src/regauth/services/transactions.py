"""One service operation, one transaction: every store call the operation makes (its checks,
its writes, its audit event) commits together or not at all."""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Concatenate, ParamSpec, Protocol, TypeVar

from regauth.store.base import Database

P = ParamSpec("P")
R = TypeVar("R")


class HasStore(Protocol):
    @property
    def _store(self) -> Database: ...


S = TypeVar("S", bound=HasStore)


def transactional(method: Callable[Concatenate[S, P], R]) -> Callable[Concatenate[S, P], R]:
    """Run the method inside `self._store.transaction()` (a savepoint when the caller is
    already in one). Services own their transactions; stores only join them."""

    @functools.wraps(method)
    def run(self: S, /, *args: P.args, **kwargs: P.kwargs) -> R:
        with self._store.transaction():
            return method(self, *args, **kwargs)

    return run
