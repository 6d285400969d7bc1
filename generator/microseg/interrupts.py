"""Ctrl-C that lands where Python cannot raise it.

A KeyboardInterrupt raised inside a callback the interpreter calls on its own (e.g. importlib's
module-lock weakref callback during a lazy import) is "unraisable": Python prints "Exception ignored
in ... Traceback ... KeyboardInterrupt" and goes on as if nothing was pressed. The CLI keeps the
traceback off the terminal, notes the interrupt, and ends with exit 130 once the run is over (its
output switch is all or nothing either way).
"""

from __future__ import annotations

import sys
from typing import Any

swallowed = False


def _note(unraisable: Any) -> None:
    global swallowed
    if isinstance(unraisable.exc_value, KeyboardInterrupt):
        swallowed = True
        return
    sys.__unraisablehook__(unraisable)


def note_unraisable_interrupts() -> None:
    sys.unraisablehook = _note
