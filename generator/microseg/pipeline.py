"""The edges around the pure core: load the inputs, plan against a directory's lock, write the outputs."""

from __future__ import annotations

import contextlib
import os
import pickle
from dataclasses import dataclass
from pathlib import Path

from microseg.errors import Collector, Problem
from microseg.io import outdir
from microseg.io.diagram import render_svg
from microseg.model import FlowSet, Inventory, Settings
from microseg.parse.flows import load_flows
from microseg.parse.inventory import load_inventory
from microseg.parse.settings import load_settings
from microseg.plan import Plan, build_plan
from microseg.render.jsonfmt import dumps
from microseg.render.lockfile import render_lock
from microseg.render.report_json import render_report_json
from microseg.render.report_md import render_report_md
from microseg.render.tfvars import render_tfvars
from microseg.render.topology import render_dot

TFVARS = "microseg.auto.tfvars.json"
OUTPUTS = (TFVARS, outdir.LOCK_NAME, "report.md", "report.json", "topology.svg", "topology.dot")


@dataclass(frozen=True, slots=True)
class Inputs:
    settings: Settings
    inventory: Inventory
    flows: FlowSet | None
    warnings: tuple[Problem, ...]


def load_inputs(inventory: Path, flows: Path | None, settings: Path | None) -> Inputs:
    """Read and check every input file; raises InputError with all problems of all files."""
    problems = Collector()
    s = load_settings(settings, problems)
    inv = load_inventory(inventory, s, problems)
    fl = load_flows(flows, inv, problems) if flows is not None else None
    problems.raise_if_errors()
    return Inputs(s, inv, fl, tuple(problems.warnings))


def plan_in(directory: Path | None, inputs: Inputs, release: tuple[str, ...] = ()) -> Plan:
    """Plan against the lock in ``directory`` (or from scratch); nothing is written."""
    lock, _ = outdir.read_lock(directory) if directory is not None and directory.is_dir() else (None, None)
    problems = Collector()
    problems.warnings.extend(inputs.warnings)
    return build_plan(
        inputs.settings,
        inputs.inventory,
        inputs.flows,
        lock or outdir.LockState(),
        release,
        str(directory / outdir.LOCK_NAME) if directory is not None else outdir.LOCK_NAME,
        problems,
    )


PARALLEL_FROM = 20_000  # workloads + flows; below this a fork costs more than it saves


def _render_reports(plan: Plan) -> dict[str, bytes]:
    """Lock and reports: about as much work as the tfvars at 10k workloads and 50k flows."""
    files = {
        outdir.LOCK_NAME: dumps(render_lock(plan.lock())).encode(),
        "report.md": render_report_md(plan).encode(),
        "report.json": dumps(render_report_json(plan)).encode(),
    }
    dot = render_dot(plan)
    svg, _ = render_svg(dot)
    files["topology.svg" if svg is not None else "topology.dot"] = svg if svg is not None else dot.encode()
    return files


def _render_tfvars(plan: Plan) -> dict[str, bytes]:
    return {TFVARS: dumps(render_tfvars(plan)).encode()}


def _forked(plan: Plan) -> dict[str, bytes] | None:
    """Render lock and reports in a forked child while this process renders the tfvars: the two
    halves are independent and big plans spend most of their time here. None if fork is unavailable."""
    if not hasattr(os, "fork"):
        return None
    read_fd, write_fd = os.pipe()
    try:
        pid = os.fork()
    except OSError:
        os.close(read_fd)
        os.close(write_fd)
        return None
    if pid == 0:  # child: render, ship the bytes, leave without running any cleanup of the parent
        code = 0
        try:
            os.close(read_fd)
            payload = pickle.dumps(_render_reports(plan), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_fd, "wb") as fh:
                fh.write(payload)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_fd)
    files = _render_tfvars(plan)
    with os.fdopen(read_fd, "rb") as fh:
        payload = fh.read()
    _, status = os.waitpid(pid, 0)
    if os.waitstatus_to_exitcode(status) != 0 or not payload:
        return None
    files.update(pickle.loads(payload))
    return files


def render_outputs(plan: Plan) -> tuple[dict[str, bytes], list[str]]:
    """Every output file as bytes (pure apart from running dot), plus notes about the rendering."""
    files = None
    if len(plan.workloads) + len(plan.policy.flows) >= PARALLEL_FROM:
        files = _forked(plan)
    if files is None:
        files = {**_render_tfvars(plan), **_render_reports(plan)}
    notes = []
    if "topology.svg" not in files:
        notes.append("Graphviz 'dot' not found or failed; wrote topology.dot instead of topology.svg")
    return files, notes


def generate(
    directory: Path, inputs: Inputs, release: tuple[str, ...] = ()
) -> tuple[Plan, list[str], list[str]]:
    """Plan and write; returns (plan, files written, rendering notes). Raises before writing anything."""
    created = not directory.exists()
    # Create the directory only to hold the guard; a failed run removes it again (nothing written).
    directory.mkdir(parents=True, exist_ok=True)
    try:
        with outdir.guard(directory):
            plan = plan_in(directory, inputs, release)
            files, notes = render_outputs(plan)
            outdir.write_files(directory, files)
            stale = "topology.dot" if "topology.svg" in files else "topology.svg"
            (directory / stale).unlink(missing_ok=True)
    except BaseException:
        if created:
            with contextlib.suppress(OSError):
                directory.rmdir()
        raise
    return plan, sorted(files), notes
