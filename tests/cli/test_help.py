"""Every option's help says what it is when not given: its default."""

from __future__ import annotations

import argparse
from collections.abc import Iterator

from regauth.cli import _parser


def _commands(
    parser: argparse.ArgumentParser, path: tuple[str, ...] = ()
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    nested = [a for a in parser._actions if isinstance(a, argparse._SubParsersAction)]
    if not nested:
        yield " ".join(path), parser
    for action in nested:
        for name, command in action.choices.items():
            yield from _commands(command, (*path, name))


def _exempt(parser: argparse.ArgumentParser, action: argparse.Action) -> bool:
    """No default to give: positionals, required options (alone or one of a required group),
    flags (off unless given), --help."""
    in_required_group = any(
        group.required and action in group._group_actions
        for group in parser._mutually_exclusive_groups
    )
    return (
        not action.option_strings
        or action.required
        or in_required_group
        or isinstance(action, argparse._StoreTrueAction | argparse._HelpAction)
    )


def test_every_option_s_help_gives_its_default() -> None:
    missing = []
    for name, parser in _commands(_parser()):
        formatter = parser._get_formatter()
        for action in parser._actions:
            if _exempt(parser, action):
                continue
            text = formatter._get_help_string(action)  # type: ignore[attr-defined]
            if "default" not in (text or ""):
                missing.append(f"regauth {name} {'/'.join(action.option_strings)}")
    assert missing == []


def test_the_expiry_default_is_in_the_help() -> None:
    parser = dict(_commands(_parser()))["token create"]
    assert "(default: [limits] default_expiry, which is never unless set)" in " ".join(
        parser.format_help().split()
    )
