"""`python -m regauth` runs the CLI."""

import sys

from regauth.cli import main

sys.exit(main())
