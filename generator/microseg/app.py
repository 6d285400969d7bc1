"""The typer app behind `microseg` (see microseg.cli): generate, validate, diff, cost, verify."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from microseg import runner
from microseg.textout import print_rows

app = typer.Typer(
    name="microseg",
    help="Inventory CSV -> stable CIDR/ASN allocation, pod fleet, QoS, policy, cost, tfvars and reports.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
out_console = runner.make_console()

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
    code = runner.generate(
        inventory, out, flows, settings, tuple(release or ()), accept_removals, as_json, lambda: out_console
    )
    raise typer.Exit(code)


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
            runner.emit_json({"ok": True, "flows": nflows, "warnings": warnings, **runner.summary(plan)})
        else:
            runner.print_warnings(warnings, as_json)
            out_console.print(
                f"ok: {len(plan.workloads)} workloads, {nflows} flows, {plan.fleet.total} pods "
                f"({len(warnings)} warning(s))"
            )
        return 0

    raise typer.Exit(runner.run_guarded(as_json, body))


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
            runner.emit_json({"ok": True, **d, "warnings": [str(w) for w in plan.warnings]})
            return 0
        runner.print_warnings([str(w) for w in plan.warnings], as_json)
        for line in diff_lines(d):
            out_console.print(line, markup=False, highlight=False)
        return 0

    raise typer.Exit(runner.run_guarded(as_json, body))


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
            runner.emit_json({"ok": True, **c})
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

    raise typer.Exit(runner.run_guarded(as_json, body))


@app.command()
def verify(
    region: Annotated[str, typer.Option("--region", help="AWS region")] = "us-east-1",
    name: Annotated[str, typer.Option("--name", help="name prefix of the deployment")] = "microseg",
    endpoint_url: Annotated[
        str | None, typer.Option("--endpoint-url", help="AWS endpoint (e.g. moto)")
    ] = None,
    role_name: Annotated[
        str | None,
        typer.Option(
            "--role-name",
            help="role to assume in each workload account attached to the network's TGW, to read its VPCs",
        ),
    ] = None,
    account: Annotated[
        list[str] | None,
        typer.Option("--account", help="another workload account to read (repeatable; needs --role-name)"),
    ] = None,
    as_json: JsonOpt = False,
) -> None:
    """Check a deployed network against the design (read-only AWS calls)."""
    from microseg.verify import run_verify

    raise typer.Exit(run_verify(region, name, endpoint_url, as_json, role_name, account or ()))
