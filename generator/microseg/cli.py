"""The `microseg` command line: generate, validate, diff, cost, verify.

Exit codes: 0 ok, 1 invalid input (nothing written), 2 usage error, 3 address space or ASN pool exhausted.
"""

from __future__ import annotations

import gc
import json
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console

from microseg.errors import BusyError, InputError, OutputError
from microseg.plan import Plan
from microseg.textout import print_rows

app = typer.Typer(
    name="microseg",
    help="Inventory CSV -> stable CIDR/ASN allocation, pod fleet, QoS, policy, cost, tfvars and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out_console = Console(highlight=False, soft_wrap=True)

InventoryArg = Annotated[Path, typer.Argument(help="inventory.csv: one row per workload", show_default=False)]
FlowsOpt = Annotated[
    Path | None, typer.Option("--flows", help="flows.csv: the approved flows (default deny)")
]
SettingsOpt = Annotated[
    Path | None, typer.Option("--settings", help="microseg.toml (documented defaults if omitted)")
]
ReleaseOpt = Annotated[
    list[str] | None,
    typer.Option("--release", help="release a tombstone's addresses (repeatable)", show_default=False),
]
JsonOpt = Annotated[bool, typer.Option("--json", help="machine-readable output on stdout")]
AcceptOpt = Annotated[
    bool,
    typer.Option(
        "--accept-removals",
        help="allow a run without --flows/--settings to drop the flows/settings the lock's last run had",
    ),
]


def _version(value: bool) -> None:
    if value:
        from microseg import __version__

        typer.echo(f"microseg {__version__}")
        raise typer.Exit(0)


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option("--version", help="print the version and exit", callback=_version, is_eager=True),
    ] = False,
) -> None:
    """Inventory CSV -> stable CIDR/ASN allocation, pod fleet, QoS, policy, cost, tfvars and reports."""


def _emit_json(data: Any) -> None:
    sys.stdout.write(json.dumps(data, indent=2, sort_keys=True) + "\n")


def _run(as_json: bool, body: Callable[[], int]) -> None:
    """Turn every expected failure into its exit code and a clean message; never a traceback."""
    try:
        code = body()
    except InputError as exc:
        if as_json:
            _emit_json(
                {"ok": False, "exit_code": exc.exit_code, "errors": [p.as_dict() for p in exc.problems]}
            )
        else:
            for p in exc.problems:
                typer.echo(str(p), err=True)
            what = {1: "invalid input", 2: "usage error", 3: "address space or ASN pool exhausted"}[
                exc.exit_code
            ]
            typer.echo(f"error: {what} ({len(exc.problems)} problem(s)); nothing written", err=True)
        raise typer.Exit(exc.exit_code) from None
    except OutputError as exc:
        if as_json:
            _emit_json({"ok": False, "exit_code": 2, "errors": [{"file": exc.path, "message": exc.reason}]})
        else:
            typer.echo(
                f"error: cannot write {exc.path}: {exc.reason}; the previous output is unchanged", err=True
            )
        raise typer.Exit(2) from None
    except BusyError as exc:
        if as_json:
            _emit_json({"ok": False, "exit_code": 1, "errors": [{"message": str(exc)}]})
        else:
            typer.echo(f"error: {exc}", err=True)
        raise typer.Exit(1) from None
    except KeyboardInterrupt:
        # The writer has already removed this run's temporary files; the switch is all or nothing.
        typer.echo("interrupted: the output directory holds the previous set or the new one, whole", err=True)
        raise typer.Exit(130) from None
    except (typer.Exit, typer.Abort):
        raise
    except Exception as exc:
        if os.environ.get("MICROSEG_DEBUG"):
            raise
        typer.echo(
            f"internal error: {type(exc).__name__}: {exc} (set MICROSEG_DEBUG=1 for details)", err=True
        )
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def _warnings(plan_warnings: list[Any], as_json: bool) -> None:
    if not as_json:
        for w in plan_warnings:
            typer.echo(f"warning: {w}", err=True)


def _summary_tables(plan: Plan) -> None:
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
        out_console,
        f"{plan.settings.name}: {len(plan.workloads)} workloads",
        ["workload", "cidr", "azs", "internet", "Mbps", "QoS/pod"],
        rows,
    )
    asn = "/".join(str(plan.asn[k]) for k in ("transit_gateway", "management", "pods"))
    print_rows(
        out_console,
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


def _summary(plan: Plan) -> dict[str, Any]:
    return {
        "workloads": len(plan.workloads),
        "tombstones": sorted(plan.tombstones),
        "released": list(plan.released),
        "pods": {"required": plan.fleet.required, "total": plan.fleet.total, "per_az": plan.fleet.per_az},
        "asn": plan.asn,
        "monthly_usd": plan.cost["monthly_usd"],
        **({"generation": plan.generation} if plan.generation else {}),
    }


@app.command()
def generate(
    inventory: InventoryArg,
    out: Annotated[Path, typer.Option("--out", help="output directory (holds the lock)", show_default=False)],
    flows: FlowsOpt = None,
    settings: SettingsOpt = None,
    release: ReleaseOpt = None,
    accept_removals: AcceptOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Write tfvars, lock, report.md/json and topology.svg into OUT (byte-identical for the same input)."""
    from microseg.pipeline import generate as do_generate
    from microseg.pipeline import load_inputs

    def body() -> int:
        # A short-lived batch run that builds millions of acyclic objects: the cycle collector
        # would rescan them again and again for nothing.
        gc.disable()
        inputs = load_inputs(inventory, flows, settings)
        plan, written, notes = do_generate(out, inputs, tuple(release or ()), accept_removals)
        warnings = [str(w) for w in plan.warnings] + notes
        if as_json:
            _emit_json(
                {"ok": True, "out": str(out), "written": written, "warnings": warnings, **_summary(plan)}
            )
        else:
            _warnings(warnings, as_json)
            _summary_tables(plan)
            out_console.print(f"wrote {', '.join(written)} to {out} (generation {plan.generation})")
        return 0

    _run(as_json, body)


@app.command()
def validate(
    inventory: InventoryArg,
    flows: FlowsOpt = None,
    settings: SettingsOpt = None,
    out: Annotated[
        Path | None, typer.Option("--out", help="also check against the lock in this directory")
    ] = None,
    release: ReleaseOpt = None,
    accept_removals: AcceptOpt = False,
    as_json: JsonOpt = False,
) -> None:
    """Check the inputs (and the plan against OUT's lock); nothing is written."""
    from microseg.pipeline import load_inputs, plan_in

    def body() -> int:
        inputs = load_inputs(inventory, flows, settings)
        plan = plan_in(out, inputs, tuple(release or ()), accept_removals)
        warnings = [str(w) for w in plan.warnings]
        nflows = len(inputs.flows.flows) if inputs.flows else 0
        if as_json:
            _emit_json({"ok": True, "flows": nflows, "warnings": warnings, **_summary(plan)})
        else:
            _warnings(warnings, as_json)
            out_console.print(
                f"ok: {len(plan.workloads)} workloads, {nflows} flows, {plan.fleet.total} pods "
                f"({len(warnings)} warning(s))"
            )
        return 0

    _run(as_json, body)


@app.command()
def diff(
    inventory: InventoryArg,
    out: Annotated[Path, typer.Option("--out", help="directory with the current lock", show_default=False)],
    flows: FlowsOpt = None,
    settings: SettingsOpt = None,
    release: ReleaseOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show what generating INVENTORY would change against the lock in OUT (nothing is written)."""
    from microseg.diff import compute_diff, diff_lines
    from microseg.io.outdir import LOCK_NAME, read_lock
    from microseg.pipeline import load_inputs, plan_in, removals

    def body() -> int:
        inputs = load_inputs(inventory, flows, settings)
        plan = plan_in(out, inputs, tuple(release or ()), accept_removals=None)
        lock, _ = read_lock(out) if out.is_dir() else (None, None)
        omitted = removals(lock, inputs, str(out / LOCK_NAME)) if lock is not None else []
        d = compute_diff(out, plan, omitted)
        if as_json:
            _emit_json({"ok": True, **d, "warnings": [str(w) for w in plan.warnings]})
            return 0
        _warnings([str(w) for w in plan.warnings], as_json)
        for line in diff_lines(d):
            out_console.print(line, markup=False, highlight=False)
        return 0

    _run(as_json, body)


@app.command()
def cost(
    inventory: InventoryArg,
    flows: FlowsOpt = None,
    settings: SettingsOpt = None,
    out: Annotated[Path | None, typer.Option("--out", help="plan against the lock in this directory")] = None,
    as_json: JsonOpt = False,
) -> None:
    """Monthly cost estimate with every line item, and chargeback per workload and cost center."""
    from microseg.cost import fmt_price, fmt_quantity
    from microseg.pipeline import load_inputs, plan_in

    def body() -> int:
        plan = plan_in(out, load_inputs(inventory, flows, settings))
        c = plan.cost
        if as_json:
            _emit_json({"ok": True, **c})
            return 0
        print_rows(
            out_console,
            f"monthly estimate: ${c['monthly_usd']:,.2f} ({c['price_source']})",
            ["item", "quantity", "unit", "unit USD", "monthly USD"],
            [
                [
                    i["description"],
                    fmt_quantity(i["quantity"]),
                    i["unit"],
                    fmt_price(i["unit_usd"]),
                    f"{i['monthly_usd']:,.2f}",
                ]
                for i in c["line_items"]
            ],
        )
        print_rows(
            out_console,
            "chargeback per cost center",
            ["cost center", "monthly USD"],
            [[k, f"{v:,.2f}"] for k, v in c["chargeback"]["cost_centers"].items()],
        )
        return 0

    _run(as_json, body)


@app.command()
def verify(
    region: Annotated[str, typer.Option("--region", help="AWS region")] = "us-east-1",
    name: Annotated[str, typer.Option("--name", help="name prefix of the deployment")] = "microseg",
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="AWS endpoint (e.g. moto)")
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a deployed network against the design (read-only AWS calls)."""
    from microseg.verify import run_verify

    raise typer.Exit(run_verify(region, name, endpoint_url, as_json))


if __name__ == "__main__":  # `python -m microseg.cli`
    app()
