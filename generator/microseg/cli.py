"""The `microseg` command line: generate, validate, diff, cost, verify.

Exit codes: 0 ok, 1 invalid input (nothing written), 2 usage error, 3 address space or ASN pool exhausted.

The commands are the typer app in microseg.app, loaded on first use: a plain `generate` call runs
without typer (microseg.runner), whose start-up costs as much as a small run.
"""

from __future__ import annotations

from typing import Any

from microseg.runner import main


def __getattr__(name: str) -> Any:  # `from microseg.cli import app` keeps working
    from microseg import app as commands

    return getattr(commands, name)


if __name__ == "__main__":  # `python -m microseg.cli`
    main()
