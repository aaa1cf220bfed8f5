"""Names an identity provider gives (group names, userNames) compared without case, the ASCII
way only: `Developers` is `developers`, but no other character stands for a letter.

`str.casefold` and `str.lower` map some non-ASCII characters onto ASCII letters (U+017F, the long
s, folds to `s`; the Kelvin sign U+212A lowers to `k`), so a name someone may choose at the
provider (`platform-admin` and U+017F) would compare equal to one that grants access
(`platform-admins`). A name with any non-ASCII character compares exactly. (Found from outside:
such a groups claim made its holder an owner under `platform-admins=acme:owners`.)"""

from __future__ import annotations


def key(name: str) -> str:
    """What `name` compares as: lowered when it is all ASCII, else itself."""
    return name.lower() if name.isascii() else name
