"""When a worker gives freed memory back (server/memory.py)."""

from __future__ import annotations

from regauth.server.memory import QuietSpells


def test_the_first_quiet_tick_ends_the_start_up() -> None:
    spells = QuietSpells(served=0)
    assert [spells.ended(0), spells.ended(0)] == [True, False]


def test_a_spell_of_load_ends_once_at_its_first_quiet_tick() -> None:
    spells = QuietSpells(served=3)
    spells.ended(3)
    assert [spells.ended(n) for n in (10, 50, 51, 51, 51)] == [False, False, False, True, False]


def test_no_trim_while_requests_keep_coming() -> None:
    spells = QuietSpells(served=0)
    spells.ended(0)
    assert not any(spells.ended(n) for n in range(1, 100))
