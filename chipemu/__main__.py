"""``python -m chipemu``: the command line (:mod:`chipemu.cli`)."""

import sys

from chipemu.cli import main

if __name__ == "__main__":
    sys.exit(main())
