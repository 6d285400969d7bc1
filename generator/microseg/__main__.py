"""`python -m microseg` runs the CLI."""

import sys

try:
    from microseg.cli import main
except KeyboardInterrupt:  # interrupted while starting: nothing was read or written
    sys.exit(130)

main()
