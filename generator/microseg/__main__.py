"""`python -m microseg` runs the CLI."""

import sys


def _interrupted(e: BaseException | None) -> bool:
    while e is not None:
        if isinstance(e, KeyboardInterrupt):
            return True
        e = e.__cause__
    return False


try:
    from microseg.interrupts import note_unraisable_interrupts

    note_unraisable_interrupts()
    from microseg.cli import main
except BaseException as e:  # interrupted while starting: nothing was read or written
    # Python 3.11 wraps an interrupt that lands in a class's __set_name__ in a RuntimeError.
    if _interrupted(e):
        sys.exit(130)
    raise

main()
