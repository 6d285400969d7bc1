"""Ctrl-C where Python cannot raise it (microseg/interrupts.py): no traceback, exit 130."""

from __future__ import annotations

import os
import subprocess
import sys
import weakref
from pathlib import Path

from microseg import interrupts

REPO = Path(__file__).resolve().parents[2]


def _unraisable_from(monkeypatch, callback) -> None:  # type: ignore[no-untyped-def]
    """With the CLI's hook installed, an object dies whose weakref callback raises: Python hands
    that exception to sys.unraisablehook (as importlib's module-lock callback does)."""
    monkeypatch.setattr(sys, "unraisablehook", sys.unraisablehook)
    monkeypatch.setattr(interrupts, "swallowed", False)
    interrupts.note_unraisable_interrupts()

    class Obj:
        pass

    obj = Obj()
    ref = weakref.ref(obj, callback)
    del obj
    assert ref() is None


def test_an_unraisable_interrupt_is_noted_and_not_printed(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def interrupted(_: object) -> None:
        raise KeyboardInterrupt  # Ctrl-C landing inside the callback

    _unraisable_from(monkeypatch, interrupted)
    assert interrupts.swallowed
    assert "Traceback" not in capsys.readouterr().err


def test_other_unraisable_exceptions_still_reach_the_default_hook(capsys, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    def broken(_: object) -> None:
        raise ValueError("a real bug")

    _unraisable_from(monkeypatch, broken)
    assert not interrupts.swallowed
    assert "ValueError: a real bug" in capsys.readouterr().err


def test_a_run_that_swallowed_an_interrupt_ends_with_130(tmp_path: Path) -> None:
    code = (
        "import sys; from microseg import interrupts; interrupts.swallowed = True;"
        "from microseg.runner import main; main(sys.argv[1:])"
    )
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    inventory = REPO / "examples" / "inventory.csv"
    r = subprocess.run(
        [sys.executable, "-c", code, "generate", str(inventory), "--out", str(tmp_path)],
        env=env, capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert r.returncode == 130, r.stderr
    assert "interrupted: the output directory holds the previous set or the new one, whole" in r.stderr
    assert "Traceback" not in r.stderr
