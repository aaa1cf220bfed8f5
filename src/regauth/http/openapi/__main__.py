"""`python -m regauth.http.openapi [--check]`: write the OpenAPI document, or check it is fresh."""

from __future__ import annotations

import argparse
import sys

from regauth.http.openapi import COMMAND, PATH, render


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog=COMMAND, description=__doc__)
    parser.add_argument(
        "--check", action="store_true", help="exit 1 if the committed document is stale"
    )
    args = parser.parse_args(argv)
    fresh = render()
    if args.check:
        if PATH.read_text(encoding="utf-8") != fresh:
            print(f"{PATH} is stale: run `{COMMAND}`", file=sys.stderr)
            return 1
        return 0
    PATH.write_text(fresh, encoding="utf-8")
    print(f"wrote {PATH}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
