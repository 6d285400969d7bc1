"""What the commands share without typer: the guard that turns failures into exit codes, the
`generate` command itself, and a direct path for a plain `generate` call.

typer's parameter coercion imports pydantic and builds a validator per parameter (~0.2 s per run,
as long as the whole benchmark floor), so `microseg generate` with only its own options runs
without typer; anything else (help, other commands, unusual syntax) goes through typer as before.
"""

from __future__ import annotations

import functools
import gc
import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from microseg import interrupts
from microseg.errors import BusyError, InputError, OutputError

if TYPE_CHECKING:
    from rich.console import Console

    from microseg.plan import Plan

_ANSI = re.compile(r"\033\[[;?0-9]*[a-zA-Z]")  # what click strips off output that is not a terminal


def echo_err(message: str) -> None:
    """typer.echo(message, err=True): one line on stderr, ANSI codes stripped unless a terminal."""
    stream = sys.stderr
    text = message + "\n"
    try:
        tty = stream.isatty()
    except Exception:
        tty = False
    stream.write(text if tty else _ANSI.sub("", text))
    stream.flush()


def make_console() -> Console:
    from rich.console import Console

    return Console(highlight=False, soft_wrap=True)


def emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def run_guarded(as_json: bool, body: Callable[[], int]) -> int:
    """The exit code of ``body``; every expected failure becomes its exit code and a clean message,
    never a traceback."""
    try:
        return body()
    except InputError as exc:
        if as_json:
            emit_json(
                {"ok": False, "exit_code": exc.exit_code, "errors": [p.as_dict() for p in exc.problems]}
            )
        else:
            for p in exc.problems:
                echo_err(str(p))
            what = {1: "invalid input", 2: "usage error", 3: "address space or ASN pool exhausted"}[
                exc.exit_code
            ]
            echo_err(f"error: {what} ({len(exc.problems)} problem(s)); nothing written")
        return exc.exit_code
    except OutputError as exc:
        if as_json:
            emit_json({"ok": False, "exit_code": 2, "errors": [{"file": exc.path, "message": exc.reason}]})
        else:
            echo_err(f"error: cannot write {exc.path}: {exc.reason}; the previous output is unchanged")
        return 2
    except BusyError as exc:
        if as_json:
            emit_json({"ok": False, "exit_code": 1, "errors": [{"message": str(exc)}]})
        else:
            echo_err(f"error: {exc}")
        return 1
    except KeyboardInterrupt:
        # The writer has already removed this run's temporary files; the switch is all or nothing.
        echo_err("interrupted: the output directory holds the previous set or the new one, whole")
        return 130
    except Exception as exc:
        if os.environ.get("MICROSEG_DEBUG"):
            raise
        echo_err(f"internal error: {type(exc).__name__}: {exc} (set MICROSEG_DEBUG=1 for details)")
        return 1


def print_warnings(warnings: list[Any], as_json: bool) -> None:
    if not as_json:
        for w in warnings:
            echo_err(f"warning: {w}")


def summary_tables(plan: Plan, console: Console) -> None:
    from microseg.textout import print_rows

    f = plan.fleet
    rows = [
        [
            name,
            plan.allocations[name].cidr,
            str(w.azs),
            "yes" if w.internet_egress else "no",
            f"{w.bandwidth_mbps:g}",
            f"{plan.qos[name]:g}",
        ]
        for name, w in list(plan.workloads.items())[:50]
    ]
    if len(plan.workloads) > 50:
        rows.append([f"+{len(plan.workloads) - 50} more", "(report.md)", "", "", "", ""])
    print_rows(
        console,
        f"{plan.settings.name}: {len(plan.workloads)} workloads",
        ["workload", "cidr", "azs", "internet", "Mbps", "QoS/pod"],
        rows,
    )
    asn = "/".join(str(plan.asn[k]) for k in ("transit_gateway", "management", "pods"))
    print_rows(
        console,
        "pods",
        ["required", "total", *plan.fleet.per_az, "ASN tgw/mgmt/pods", "monthly USD"],
        [
            [
                str(f.required),
                str(f.total),
                *(str(n) for n in f.per_az.values()),
                asn,
                f"{plan.cost['monthly_usd']:,.2f}",
            ]
        ],
    )


def summary(plan: Plan) -> dict[str, Any]:
    return {
        "workloads": len(plan.workloads),
        "tombstones": sorted(plan.tombstones),
        "released": list(plan.released),
        "pods": {"required": plan.fleet.required, "total": plan.fleet.total, "per_az": plan.fleet.per_az},
        "asn": plan.asn,
        "monthly_usd": plan.cost["monthly_usd"],
        **({"generation": plan.generation} if plan.generation else {}),
    }


def generate(
    inventory: Path,
    out: Path,
    flows: Path | None,
    settings: Path | None,
    release: tuple[str, ...],
    accept_removals: bool,
    as_json: bool,
    console: Callable[[], Console],
    keep: list[object] | None = None,
) -> int:
    """`microseg generate`; returns the exit code. ``keep`` receives the inputs and the plan, for a
    caller that exits without freeing them."""

    def body() -> int:
        from microseg.pipeline import generate as do_generate
        from microseg.pipeline import load_inputs

        # A short-lived batch run that builds millions of acyclic objects: the cycle collector
        # would rescan them again and again for nothing.
        gc.disable()
        inputs = load_inputs(inventory, flows, settings)
        tables: list[str] = []
        shown = functools.cache(console)  # one console for the tables and the line after them

        def render_tables(plan: Plan) -> None:
            # While the reports' child still writes: the tables' text as the console would print
            # it, printed once the set is switched in (after the warnings, which go first).
            with shown().capture() as text:
                summary_tables(plan, shown())
            tables.append(text.get())

        plan, written, notes = do_generate(
            out, inputs, release, accept_removals, None if as_json else render_tables
        )
        if keep is not None:
            keep.append((inputs, plan))
        warnings = [str(w) for w in plan.warnings] + notes
        if as_json:
            emit_json(
                {"ok": True, "out": str(out), "written": written, "warnings": warnings, **summary(plan)}
            )
        else:
            print_warnings(warnings, as_json)
            if tables:
                shown().file.write(tables[0])
            else:
                summary_tables(plan, shown())
            shown().print(f"wrote {', '.join(written)} to {out} (generation {plan.generation})")
        return 0

    return run_guarded(as_json, body)


_VALUED = {"--out": "out", "--flows": "flows", "--settings": "settings"}
_FLAGS = {"--json": "as_json", "--accept-removals": "accept_removals"}


def parse_generate(argv: list[str]) -> dict[str, Any] | None:
    """The arguments of a plain `generate INVENTORY --out DIR [options]` call, or None for anything
    else (help, another command, an unknown or repeated option, `--x=y`, a value that starts with
    "-" or is empty), which typer then parses and reports exactly as before."""
    if not argv or argv[0] != "generate":
        return None
    found: dict[str, Any] = {"release": []}
    positional: list[str] = []
    args = iter(argv[1:])
    for arg in args:
        if arg in _VALUED or arg == "--release":
            value = next(args, None)
            if not value or value.startswith("-"):
                return None
            if arg == "--release":
                found["release"].append(value)
            elif _VALUED[arg] in found:
                return None
            else:
                found[_VALUED[arg]] = Path(value)
        elif arg in _FLAGS and _FLAGS[arg] not in found:
            found[_FLAGS[arg]] = True
        elif arg and not arg.startswith("-"):
            positional.append(arg)
        else:
            return None
    if len(positional) != 1 or "out" not in found:
        return None
    return {
        "inventory": Path(positional[0]),
        "out": found["out"],
        "flows": found.get("flows"),
        "settings": found.get("settings"),
        "release": tuple(found["release"]),
        "accept_removals": found.get("accept_removals", False),
        "as_json": found.get("as_json", False),
    }


def main(argv: list[str] | None = None) -> None:
    """The `microseg` command: a plain `generate` directly, everything else through typer."""
    interrupts.note_unraisable_interrupts()
    parsed = parse_generate(sys.argv[1:] if argv is None else argv)
    if parsed is None:
        from microseg.app import app

        app(args=argv)
        return
    kept: list[object] = []
    gc.disable()  # already for the imports of the pipeline: they build ~100k objects (see generate)
    try:
        code = generate(**parsed, console=make_console, keep=kept)
    except KeyboardInterrupt:  # outside the guard: before reading or after the switch
        code = 130
    if interrupts.swallowed and code != 130:  # pressed where Python could not raise it (interrupts.py)
        echo_err("interrupted: the output directory holds the previous set or the new one, whole")
        code = 130
    # Leave without freeing the plan's million objects one by one (~50 ms at 10k workloads):
    # the output is written and the guard released, only stdout and stderr may hold buffered text.
    try:
        sys.stdout.flush()
        sys.stderr.flush()
    except (OSError, ValueError):
        sys.exit(code)  # the interpreter reports it as it always would
    os._exit(code)
