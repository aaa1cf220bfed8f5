"""Repositories a push was granted to, recorded in the last-use batches (store contract)."""

from __future__ import annotations

import tracemalloc
from pathlib import Path

from regauth.runtime import Runtime
from regauth.services.usage import UsageRecorder
from regauth.store.sqlite.store import SQLiteStore


def test_grants_are_found_and_a_known_name_is_left_as_it_is(runtime: Runtime) -> None:
    store = runtime.store
    store.record_push_grants({"alice/app": 100, "bob/db": 50})
    store.record_push_grants({"alice/app": 10, "carol/x": 70})
    store.record_push_grants({})
    assert store.push_ever_granted("alice/app")
    assert store.push_ever_granted("bob/db")
    assert store.push_ever_granted("carol/x")
    assert not store.push_ever_granted("alice/other")


def test_names_that_need_escaping_in_json_are_kept_as_they_are(runtime: Runtime) -> None:
    names = {'a/"quoted"': 1, "a/back\\slash": 2, "a/ünïcode": 3, "a/new\nline": 4}
    runtime.store.record_push_grants(names)
    assert all(runtime.store.push_ever_granted(name) for name in names)
    assert not runtime.store.push_ever_granted("a/quoted")


def test_a_batch_is_a_statement_per_512_names_not_one_per_name(tmp_path: Path) -> None:
    """executemany steps once per row and takes the GIL back for each: under load each take
    waits for the event loop (a flush of 4,000 names took seconds)."""
    store = SQLiteStore(tmp_path / "regauth.db")
    try:
        statements: list[str] = []
        store._backend._connection().set_trace_callback(statements.append)  # type: ignore[attr-defined]
        store.record_push_grants({f"bench/m-{i}": i for i in range(1200)})
        inserts = [s for s in statements if "pushed_repositories" in s]
        assert len(inserts) == 3
        assert store.push_ever_granted("bench/m-0")
        assert store.push_ever_granted("bench/m-1199")
    finally:
        store.close()


def test_a_worker_remembers_a_bounded_number_of_pushed_repositories(runtime: Runtime) -> None:
    """Each /token with push for a repository this process has not seen records it; keeping
    every name seen made a worker ~11 MiB larger after 100,000 distinct repositories. Names
    forgotten are recorded again (the store keeps the first time), none is lost."""
    usage = UsageRecorder(runtime.store)
    names = [f"bench/a-repository-with-a-longer-name-{i}" for i in range(20_000)]
    tracemalloc.start()
    try:
        before = tracemalloc.get_traced_memory()[0]
        for at, name in enumerate(names):
            usage.record_push_grant(name, at)
            if at % 1000 == 999:
                usage.flush()
        usage.flush()
        held = tracemalloc.get_traced_memory()[0] - before
    finally:
        tracemalloc.stop()
    assert held < 1024 * 1024, held
    assert all(runtime.store.push_ever_granted(name) for name in names[::1000])
    assert runtime.store.push_ever_granted(names[-1])
