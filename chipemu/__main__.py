"""``python -m chipemu``: the command line (:mod:`chipemu.cli`)."""

import sys

from chipemu.cli import console_main

if __name__ == "__main__":
    sys.exit(console_main())
