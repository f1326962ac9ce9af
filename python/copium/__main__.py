"""python -m copium: see copium.cli."""

import sys

from copium.cli import main

if __name__ == "__main__":
    sys.exit(main())
