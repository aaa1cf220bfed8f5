"""Characters that act on a terminal or on the text around them instead of showing as text.

A token's description is typed by its owner and printed in an administrator's terminal by
`regauth token list`: an ESC in it would be a terminal's control sequence (retitle the window,
recolour or clear the screen, in some terminals write to the clipboard). A user agent comes
from any client. So descriptions refuse these characters, and what the CLI prints of stored
text shows them escaped (`escape`), whatever the text's origin.

They are the C0 and C1 controls and DEL (Unicode's Cc: ESC, CSI U+009B, NUL, newline, tab),
the line and paragraph separators, and the bidirectional embeddings, overrides and isolates
("Trojan Source", CVE-2021-42574: they make one text display as another). Letters, accents,
emoji and their joiners are text.
"""

from __future__ import annotations

import re

_CONTROLS = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
# All but C0, which a JSON encoder escapes in strings and which outside them is whitespace.
_UNESCAPED_IN_JSON = re.compile(r"[\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def has_controls(text: str) -> bool:
    return _CONTROLS.search(text) is not None


def refused(what: str) -> str:
    """The message of a 400 for such text."""
    return (
        f"{what} must not contain control characters (such as ESC, a newline or a tab) "
        "or bidirectional overrides"
    )


def escape(text: str) -> str:
    """`text` with each such character as a Python-style escape (`\\x1b`, `\\u202e`)."""
    if _CONTROLS.search(text) is None:
        return text  # the usual case: nothing to copy
    return _CONTROLS.sub(_escaped, text)


def escape_in_json(document: str) -> str:
    """A JSON document with each such character escaped as JSON escapes it (`\\u009b`). The
    encoders escape C0 controls but not DEL, C1 or the others; outside a string none can
    appear, so the document means the same."""
    if _UNESCAPED_IN_JSON.search(document) is None:
        return document
    return _UNESCAPED_IN_JSON.sub(lambda match: f"\\u{ord(match.group()):04x}", document)


def _escaped(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
