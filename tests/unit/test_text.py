"""Characters a terminal acts on (domain/text.py): found, and shown escaped."""

from __future__ import annotations

import json

import pytest

from regauth.domain.text import escape, escape_in_json, has_controls


@pytest.mark.parametrize(
    "text",
    [
        "ci\x1b]2;owned\x07",  # ESC ... BEL: retitles the window
        "\x1b[2J",  # clears the screen
        "x\u009b31m",  # C1 CSI: the one-character ESC [
        "a\x00b",
        "two\nlines",
        "tab\there",
        "del\x7f",
        "laptop\u202epot",  # right-to-left override: shows as "laptoptop" reversed
        "\u2066isolate\u2069",
        "line\u2028separator",
    ],
)
def test_controls_are_found_and_shown_escaped(text: str) -> None:
    assert has_controls(text)
    shown = escape(text)
    assert not has_controls(shown)
    assert shown.isprintable()


@pytest.mark.parametrize("text", ["laptop", "Zoë", "笔记本", "\U0001f469\u200d\U0001f4bb", "a b"])
def test_text_is_text(text: str) -> None:
    assert not has_controls(text)
    assert escape(text) is text


def test_escapes_say_which_character_it_was() -> None:
    assert escape("a\x1b[31mb\u009bc\u202e") == "a\\x1b[31mb\\x9bc\\u202e"


def test_a_json_document_escaped_means_the_same() -> None:
    value = {"description": "x\u009b31m\u202e\x7f\x1b", "n": [1, "ok"]}
    document = json.dumps(value, ensure_ascii=False, indent=2)
    escaped = escape_in_json(document)
    assert json.loads(escaped) == value
    assert not any(c in escaped for c in "\u009b\u202e\x7f\x1b")
    assert "\n" in escaped  # the document's own whitespace is left alone
