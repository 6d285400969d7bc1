"""The edges around the pure core: load the inputs, plan against a directory's lock, write the outputs."""

from __future__ import annotations

import contextlib
import hashlib
import json
import marshal
import os
import shutil
import signal
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from microseg.errors import Collector, InputError, OutputError, Problem
from microseg.io import outdir
from microseg.model import FlowSet, Inventory, Settings
from microseg.parse.flows import load_flows
from microseg.parse.inventory import load_inventory
from microseg.parse.settings import load_settings
from microseg.plan import Plan, build_plan
from microseg.policy import egress_rules
from microseg.render.flowlines import tfvars_flows
from microseg.render.jsonfmt import Lines, Raw, dump_parts, dumps, encoded_at
from microseg.render.lockfile import render_lock
from microseg.render.shared import Shared, ingress_texts, render_shared, subnet_texts
from microseg.render.stacks import NETWORK_FILE, STACKS_DIR, render_network, render_workload_stacks
from microseg.render.tfvars import render_tfvars, transport_json
from microseg.segmentation import check_flow_cidrs
from microseg.state import InputRecord, LockState

TFVARS = outdir.TFVARS
OUTPUTS = outdir.OUTPUT_NAMES


@dataclass(frozen=True, slots=True)
class Inputs:
    settings: Settings
    inventory: Inventory
    flows: FlowSet | None
    warnings: tuple[Problem, ...]
    files: dict[str, Path | None] = field(default_factory=dict)  # kind -> the file read, None if omitted


def load_inputs(inventory: Path, flows: Path | None, settings: Path | None) -> Inputs:
    """Read and check every input file; raises InputError with all problems of all files."""
    problems = Collector()
    s = load_settings(settings, problems)
    inv = load_inventory(inventory, s, problems)
    fl = load_flows(flows, inv, problems) if flows is not None else None
    if fl is not None:
        # The guard once here too (without the lock), so its findings come with the parse errors;
        # planning repeats it against the lock's workloads.
        check_flow_cidrs(fl, s, {w.name: w for w in inv.workloads}, LockState(), problems)
    problems.raise_if_errors()
    files = {"inventory": inventory, "flows": flows, "settings": settings}
    return Inputs(s, inv, fl, tuple(problems.warnings), files)


def input_records(inputs: Inputs, directory: Path | None) -> dict[str, InputRecord | None]:
    """Fingerprints of the inputs for the lock; paths relative to the output directory, so the
    lock stays the same whichever directory the command runs from."""
    rows = {
        "inventory": len(inputs.inventory.workloads),
        "flows": len(inputs.flows.flows) if inputs.flows else 0,
        "settings": 0,
    }
    out: dict[str, InputRecord | None] = {}
    for kind, path in inputs.files.items():
        if path is None:
            out[kind] = None
            continue
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        where = os.path.relpath(path.resolve(), directory.resolve()) if directory is not None else str(path)
        out[kind] = InputRecord(where, digest, rows[kind])
    return out


def removals(lock: outdir.LockState, inputs: Inputs, lock_label: str) -> list[Problem]:
    """What omitting an input that the last run had would silently lose: one problem per input."""
    found = []
    for kind, option, loss in (
        ("flows", "--flows", "every approved flow would be dropped (default deny for all)"),
        ("settings", "--settings", "every setting would revert to its documented default"),
    ):
        before = lock.inputs.get(kind)
        if before is None or inputs.files.get(kind) is not None:
            continue
        if kind == "flows" and before.rows == 0:
            continue
        what = f"{before.rows} flow(s) from " if kind == "flows" else ""
        if kind == "settings":
            changed = settings_reverted(Path(lock_label).parent / TFVARS, inputs.settings)
            loss += f" ({', '.join(changed)} would change)" if changed else ""
        # The lock holds the path relative to itself; show it as the user would type it here.
        there = os.path.relpath(os.path.normpath(Path(lock_label).parent / before.path))
        found.append(
            Problem(
                lock_label,
                0,
                f"inputs.{kind}",
                f"the last run used {what}{there} (sha256 {before.sha256[:12]}); without {option} "
                f"{loss}. Pass {option} {there}, or --accept-removals to mean it",
            )
        )
    return found


def settings_reverted(old_tfvars: Path, settings: Settings) -> list[str]:
    """The settings the last run wrote into its tfvars that differ from ``settings``."""
    from microseg.diff import leaves  # only for a re-run without --settings: not on every run's path

    try:
        old = json.loads(old_tfvars.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    if not isinstance(old, dict):
        return []
    new = {
        "name": settings.name,
        "region": settings.region,
        "azs": list(settings.azs),
        "tags": dict(settings.tags),
        "workload_supernet": settings.workload_supernet,
        "instance_types": dict(settings.instance_types),
        "management": {"allowed_domains": list(settings.allowed_domains)},
        "transport": transport_json(settings),
    }
    return [leaf["key"] for key in new if key in old for leaf in leaves(old[key], new[key], key)]


def plan_in(
    directory: Path | None,
    inputs: Inputs,
    release: tuple[str, ...] = (),
    accept_removals: bool | None = True,
) -> Plan:
    """Plan against the lock in ``directory`` (or from scratch); nothing is written.
    ``accept_removals=False`` refuses (exit 1) when an omitted input would drop what the lock had."""
    lock, _ = outdir.read_lock(directory) if directory is not None and directory.is_dir() else (None, None)
    lock_label = str(directory / outdir.LOCK_NAME) if directory is not None else outdir.LOCK_NAME
    if lock is not None and accept_removals is False:
        lost = removals(lock, inputs, lock_label)
        if lost:
            raise InputError(lost)
    problems = Collector()
    problems.warnings.extend(inputs.warnings)
    plan = build_plan(
        inputs.settings,
        inputs.inventory,
        inputs.flows,
        lock or outdir.LockState(),
        release,
        lock_label,
        problems,
    )
    return replace(plan, inputs=input_records(inputs, directory))


PARALLEL_FROM = 20_000  # workloads + flows; below this a fork costs more than it saves


def lock_and_id(plan: Plan, subnets: dict[str, str] | None = None) -> tuple[Plan, bytes]:
    """The new lock and the generation id. The id hashes what the set is made from (the inputs'
    content, the released names, the warnings, the new lock), so it is known before the big files
    are rendered, and the same inputs against the same state give the same id and the same bytes.
    ``subnets``: subnet_texts(plan), which the tfvars take too."""
    text = dumps(render_lock(plan.lock(), subnets))
    parts = [text.encode(), "\0".join(plan.released).encode(), "\0".join(map(str, plan.warnings)).encode()]
    parts += [(r.sha256 if r else "-").encode() for _, r in sorted(plan.inputs.items())]
    gid = outdir.generation_id(parts)
    return replace(plan, generation=gid), text.replace(outdir.PLACEHOLDER, gid, 1).encode()


def _write_reports(plan: Plan, into: Path, flows: Lines | outdir.Spliced | None = None) -> None:
    """report.md, report.json and the network stack's tfvars (``flows``: its flows' lines or text,
    if this process has them): at 10k workloads about half the work, so a child writes them."""
    # Imported here: at big runs only the child needs them.
    from microseg.render.report_json import render_report_json
    from microseg.render.report_md import render_report_md

    # Each file's fsync on a thread while the next one renders; the network stack first, so that
    # its fsync (it holds the flows' text) overlaps the reports' rendering.
    sync = outdir.Syncer()
    try:
        stacks = into / STACKS_DIR
        stacks.mkdir(exist_ok=True)
        sync.write(stacks, NETWORK_FILE, _with_flows(lambda f: render_network(plan, f), flows))
        sync.write(into, "report.md", render_report_md(plan).encode())
        sync.write(into, "report.json", dump_parts(render_report_json(plan)))
        sync.wait()
    except BaseException:
        with contextlib.suppress(OSError):
            sync.wait()  # no thread still writing when the caller removes the directory
        raise


class Diagram:
    """The topology diagram: its dot source and Graphviz's dot laying it out in the background,
    started as soon as the plan is known. Until the writers fork this process is the only one at
    work, so dot's layout then takes a core that is otherwise idle, not one the writers need."""

    def __init__(self, plan: Plan) -> None:
        from microseg.io.diagram import SvgJob
        from microseg.render.topology import render_dot

        self.dot = render_dot(plan)
        self.job = SvgJob(self.dot)

    def write(self, into: Path, sync: outdir.Syncer) -> None:
        """topology.svg, or the dot source when dot is missing or fails."""
        svg, _ = self.job.result()
        if svg is not None:
            sync.write(into, "topology.svg", svg)
        else:
            sync.write(into, "topology.dot", self.dot.encode())

    def cancel(self) -> None:
        """Stop dot if its result was not collected (nothing to do once it was)."""
        self.job.cancel()


def _write_tfvars(
    plan: Plan,
    into: Path,
    sync: outdir.Syncer,
    handover: _Handover | None = None,
    subnets: dict[str, str] | None = None,
) -> Shared:
    """The main tfvars and the workload stacks' tfvars, both from the same shared text. Both here:
    a second child would copy, page by page, the plan and the shared text it reads (copy-on-write),
    which costs more than the main tfvars' own writing once that is written a chunk at a time.
    ``handover``: what the reports' child writes for this process too (None: all written here);
    ``subnets``: subnet_texts(plan), if the lock took them already."""
    egress = egress_rules(plan.policy.flows, plan.workloads)  # first: the child writes the ingress meanwhile
    ingress = handover.ingress() if handover is not None else None
    shared = render_shared(plan, subnets=subnets, ingress=ingress, egress=egress)
    text = handover.flows() if handover is not None else None
    if text is None:
        parts = dump_parts(render_tfvars(plan, shared))
    else:
        parts = _with_flows(
            lambda f: render_tfvars(plan, Shared(shared.workloads, plan.policy.flows, f)), text
        )
    sync.write(into, TFVARS, parts)
    stacks = into / STACKS_DIR
    stacks.mkdir(exist_ok=True)
    for name, data in render_workload_stacks(plan, shared).items():
        sync.write(stacks, name, dump_parts(data))
    return shared


def _with_flows(
    render: Callable[[Lines | Raw | None], dict[str, Any]], flows: Lines | outdir.Spliced | None
) -> list[str | outdir.Spliced]:
    """The pieces of a file whose top-level "flows" are ``flows``: its lines, or their text in a
    memory file (copied into the file by the kernel), or None (written by ``render``)."""
    if not isinstance(flows, outdir.Spliced):
        return list(dump_parts(render(flows)))
    mark = Raw("@@flows@@")  # the flows' place in the file, found by identity
    parts: list[str | outdir.Spliced] = list(dump_parts(render(mark)))
    at = next(i for i, p in enumerate(parts) if p is mark)
    parts[at] = flows
    return parts


class _Handover:
    """What the reports' child writes for this process too, so that the longer of the two has less
    to do: each workload's ingress rules as JSON text (from the policy), then the flows' JSON text
    (the child writes the lines for the network stack anyway, and the main tfvars holds the same
    text at the same level). The child fills a memory file and puts each message's place in a pipe;
    the kernel copies the flows' text into the tfvars. A child that failed before a message leaves
    the pipe empty: this process then writes the rest itself."""

    def __init__(self) -> None:
        self.fd = os.memfd_create("microseg-handover")
        self.ready, self.done = os.pipe()
        self.end = 0  # in the child: where the next message goes

    def send(self, plan: Plan) -> outdir.Spliced:
        """In the child: both messages; returns where the flows' text lies (the network stack
        takes it too)."""
        self._put(marshal.dumps(ingress_texts(plan)))
        return self._put(encoded_at(Lines(tfvars_flows(plan.policy.flows)), 1))

    def _put(self, data: bytes | list[str]) -> outdir.Spliced:
        with open(self.fd, "wb", closefd=False) as fh:
            fh.seek(self.end)
            outdir.write_data(fh, data)
            fh.flush()
            size = fh.tell() - self.end
        os.write(self.done, self.end.to_bytes(8, "big") + size.to_bytes(8, "big"))
        self.end += size
        return outdir.Spliced(self.fd, self.end - size, size)

    def forked(self) -> None:
        """In this process after the fork: the child holds the pipe's only write end, so a child
        that failed before sending reads as an empty pipe, not as a wait without end."""
        os.close(self.done)

    def _get(self) -> tuple[int, int] | None:
        header = b""
        while len(header) < 16:
            more = os.read(self.ready, 16 - len(header))
            if not more:
                return None
            header += more
        return int.from_bytes(header[:8], "big"), int.from_bytes(header[8:], "big")

    def ingress(self) -> dict[str, str] | None:
        """The first message: ingress_texts(plan); None when the child sent none."""
        place = self._get()
        if place is None:
            return None
        offset, size = place
        data = bytearray()
        while len(data) < size:
            part = os.pread(self.fd, size - len(data), offset + len(data))
            if not part:
                return None
            data += part
        try:
            texts = marshal.loads(data)
        except (EOFError, ValueError, TypeError):
            return None
        return texts if isinstance(texts, dict) else None

    def flows(self) -> outdir.Spliced | None:
        """The second message: the flows' text where it lies; None when the child sent none."""
        place = self._get()
        return None if place is None else outdir.Spliced(self.fd, *place)

    def close(self) -> None:
        for fd in (self.fd, self.ready, self.done):
            with contextlib.suppress(OSError):
                os.close(fd)


def _forked(write: Callable[[Plan, Path], None], plan: Plan, into: Path) -> int | None:
    """A child that runs `write` while this process writes the rest: the parts are independent and
    big plans spend most of their time here. None when fork is unavailable."""
    if not hasattr(os, "fork"):
        return None
    try:
        pid = os.fork()
    except OSError:
        return None
    if pid == 0:  # child: write, then leave without running any cleanup of the parent
        code = 0
        try:
            write(plan, into)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    return pid


def producer(
    plan: Plan,
    lock: bytes,
    subnets: dict[str, str] | None = None,
    meanwhile: Callable[[Plan], None] | None = None,
    diagram: Diagram | None = None,
) -> Callable[[Path], None]:
    """Writes the whole set into a (temporary) generation directory. ``subnets``: subnet_texts(plan),
    if the lock took them already; ``meanwhile``: called once this process has written its part,
    while the reports' child may still be writing (the caller's summary is rendered there);
    ``diagram``: the diagram, if it is being laid out already."""

    def produce(into: Path) -> None:
        pid, handover = None, None
        if len(plan.workloads) + len(plan.policy.flows) >= PARALLEL_FROM and hasattr(os, "memfd_create"):
            # The reports and the network stack in a child; the lock, the shared text, the main
            # tfvars, the workload stacks and the diagram here. The child first hands over the
            # ingress rules and the flows' lines (_Handover).
            with contextlib.suppress(OSError):  # no memory file: this process writes everything
                handover = _Handover()
        if handover is not None:

            def child(p: Plan, d: Path) -> None:
                assert handover is not None
                _write_reports(p, d, handover.send(p))

            pid = _forked(child, plan, into)
        sync = outdir.Syncer()
        try:
            if handover is not None:
                handover.forked()
            # After the fork: the reports need not wait for the lock's fsync.
            sync.write(into, outdir.LOCK_NAME, lock)
            shared = _write_tfvars(plan, into, sync, handover if pid is not None else None, subnets)
            (diagram or Diagram(plan)).write(into, sync)
            sync.wait()
        except BaseException:
            with contextlib.suppress(OSError):
                sync.wait()  # no thread still writing when the caller removes the directory
            if pid is not None:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            raise
        finally:
            if handover is not None:
                handover.close()
        if meanwhile is not None:
            meanwhile(plan)  # while the child writes the rest of its part (the longer of the two)
        status = os.waitpid(pid, 0)[1] if pid is not None else None
        if status is None or os.waitstatus_to_exitcode(status) != 0:
            _write_reports(plan, into, shared.flows)  # serially: small plans, no fork, or a failed child
        outdir.fsync_dir(into / STACKS_DIR)

    return produce


def generate(
    directory: Path,
    inputs: Inputs,
    release: tuple[str, ...] = (),
    accept_removals: bool = False,
    meanwhile: Callable[[Plan], None] | None = None,
) -> tuple[Plan, list[str], list[str]]:
    """Plan and write one generation; returns (plan, files written, rendering notes).
    Raises before writing anything; OS errors become OutputError (exit 2). ``meanwhile``: see
    producer (nothing it does may be shown before this returns: the run can still fail)."""
    if directory.exists() and not directory.is_dir():
        raise OutputError(str(directory), "--out names a file, not a directory")
    created = not directory.exists()
    try:
        # Created only to hold the guard; a failed run removes it again (nothing written).
        directory.mkdir(parents=True, exist_ok=True)
        with outdir.guard(directory):
            plan = plan_in(directory, inputs, release, accept_removals)
            diagram = Diagram(plan)  # laid out while the lock, the id and the files are written
            try:
                subnets = subnet_texts(plan)  # the lock's and the tfvars': written once
                plan, lock = lock_and_id(plan, subnets)
                produce = producer(plan, lock, subnets, meanwhile, diagram)
                names = outdir.write_generation(directory, plan.generation, produce)
            finally:
                diagram.cancel()
    except BaseException as exc:
        if created:
            shutil.rmtree(directory, ignore_errors=True)
        if isinstance(exc, OSError):
            raise OutputError(exc.filename or str(directory), exc.strerror or str(exc)) from None
        raise
    notes = []
    if "topology.svg" not in names:
        notes.append("Graphviz 'dot' not found or failed; wrote topology.dot instead of topology.svg")
    return plan, names, notes
