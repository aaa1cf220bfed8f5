"""Request ids and jti values: format, uniqueness across draws, and fresh in a forked child."""

from __future__ import annotations

import os
import re

from regauth.domain import ids

_JTI = re.compile(r"[A-Za-z0-9_-]{22}")


def test_jtis_are_22_base64url_characters_and_never_repeat_across_draws() -> None:
    values = [ids.jti() for _ in range(3 * 256 + 7)]  # more than three draws
    assert all(_JTI.fullmatch(v) for v in values), values[:3]
    assert len(set(values)) == len(values)


def test_jti_characters_cover_the_whole_alphabet() -> None:
    # 132 random bits each: over a few thousand values every base64url character shows up;
    # a slice at the wrong offset or a constant part would leave characters out.
    seen = {c for _ in range(2000) for c in ids.jti()}
    assert len(seen) == 64


def test_request_ids_are_unique_and_share_a_per_process_prefix() -> None:
    values = [ids.request_id() for _ in range(1000)]
    assert len(set(values)) == 1000
    assert len({v[:8] for v in values}) == 1


def _in_child() -> tuple[str, str]:
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # pragma: no cover - runs in the child, which reports through the pipe
        try:
            os.write(write_end, f"{ids.request_id()} {ids.jti()}".encode())
        finally:
            os._exit(0)
    os.close(write_end)
    with os.fdopen(read_end, "rb") as pipe:
        data = pipe.read().decode()
    os.waitpid(pid, 0)
    request_id, jti = data.split()
    return request_id, jti


def test_a_forked_worker_does_not_repeat_what_the_parent_hands_out() -> None:
    ids.jti()  # the parent holds a partly used draw, as a supervisor that signed would
    ids.request_id()
    child_request_id, child_jti = _in_child()
    parent_request_id, parent_jti = ids.request_id(), ids.jti()
    assert child_request_id[:8] != parent_request_id[:8]  # a new prefix, not the parent's
    assert child_jti != parent_jti
