"""Big plans write their files from two processes (pipeline.producer): the set is the very bytes
one process writes, a child that fails is replaced by this process writing its part, and the fsyncs
done on threads fail the run as a synchronous one would."""

from __future__ import annotations

import errno
import io
import os
import threading
from pathlib import Path

import pytest
from microseg import pipeline
from microseg.errors import OutputError

EX = Path(__file__).resolve().parents[2] / "examples"


def _written(out: Path, monkeypatch: pytest.MonkeyPatch, parallel_from: int) -> dict[str, bytes]:
    monkeypatch.setattr(pipeline, "PARALLEL_FROM", parallel_from)
    inputs = pipeline.load_inputs(EX / "inventory.csv", EX / "flows.csv", EX / "microseg.toml")
    pipeline.generate(out, inputs)
    current = out / ".generations" / "current"
    return {str(p.relative_to(current)): p.read_bytes() for p in sorted(current.rglob("*")) if p.is_file()}


def test_two_processes_write_the_same_bytes_as_one(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)
    two = _written(tmp_path / "b" / "out", monkeypatch, 0)
    assert "stacks/network.auto.tfvars.json" in one and "microseg.auto.tfvars.json" in one
    assert two == one


def _only_here(write):  # type: ignore[no-untyped-def]
    parent = os.getpid()

    def wrapped(*args):  # type: ignore[no-untyped-def]
        if os.getpid() != parent:
            raise OSError("a child fails")
        return write(*args)

    return wrapped


def test_failed_children_are_replaced(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)
    # The child fails after it sent the flows' text: the main tfvars takes that text.
    monkeypatch.setattr(pipeline, "_write_reports", _only_here(pipeline._write_reports))
    assert _written(tmp_path / "b" / "out", monkeypatch, 0) == one


def test_a_child_that_sends_nothing_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The child fails before its first message: this process writes the ingress and flows itself.
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)
    monkeypatch.setattr(pipeline._Handover, "send", _only_here(pipeline._Handover.send))
    assert _written(tmp_path / "b" / "out", monkeypatch, 0) == one


def test_a_child_that_fails_between_its_messages_is_not_waited_for(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The ingress rules come from the child, the flows' lines (it failed to write them) from here.
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)
    monkeypatch.setattr(pipeline, "tfvars_flows", _only_here(pipeline.tfvars_flows))
    assert _written(tmp_path / "b" / "out", monkeypatch, 0) == one


def test_a_failed_fsync_fails_the_run_and_publishes_nothing(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # The files fsync on threads (outdir.Syncer): an error there is the run's error, as in write_file.
    real = os.fsync

    def failing(fd: int) -> None:
        if threading.current_thread() is not threading.main_thread():
            raise OSError(errno.EIO, "Input/output error")
        real(fd)

    monkeypatch.setattr(os, "fsync", failing)
    out = tmp_path / "out"
    inputs = pipeline.load_inputs(EX / "inventory.csv", EX / "flows.csv", EX / "microseg.toml")
    with pytest.raises(OutputError, match="Input/output error"):
        pipeline.generate(out, inputs)
    assert not out.exists()


def test_without_a_memory_file_one_process_writes_the_same_bytes(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)

    def no_memfd(name: str) -> int:
        raise OSError(errno.EMFILE, "Too many open files")

    monkeypatch.setattr(os, "memfd_create", no_memfd)
    assert _written(tmp_path / "b" / "out", monkeypatch, 0) == one


def _summary(out: Path, monkeypatch: pytest.MonkeyPatch, parallel_from: int) -> tuple[int, str]:
    """`generate`'s exit code and its stdout, printed on a console of 80 columns."""
    from microseg import runner
    from rich.console import Console

    monkeypatch.setattr(pipeline, "PARALLEL_FROM", parallel_from)
    buf = io.StringIO()
    console = Console(file=buf, width=80, highlight=False, soft_wrap=True)
    code = runner.generate(
        EX / "inventory.csv", out, EX / "flows.csv", EX / "microseg.toml", (), False, False, lambda: console
    )
    return code, buf.getvalue()


def test_the_summary_rendered_while_the_child_writes_is_the_one_printed_after(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from microseg import runner
    from rich.console import Console

    code, printed = _summary(tmp_path / "out", monkeypatch, 0)
    assert code == 0
    inputs = pipeline.load_inputs(EX / "inventory.csv", EX / "flows.csv", EX / "microseg.toml")
    plan = pipeline.plan_in(tmp_path / "out", inputs)
    buf = io.StringIO()
    runner.summary_tables(plan, Console(file=buf, width=80, highlight=False, soft_wrap=True))
    assert buf.getvalue() and printed.startswith(buf.getvalue())
    assert printed[len(buf.getvalue()) :].startswith("wrote ")


def test_a_run_that_fails_after_the_summary_rendered_prints_none_of_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    rendered = []
    real = pipeline.producer

    def failing_after(plan, lock, subnets=None, meanwhile=None, diagram=None):  # type: ignore[no-untyped-def]
        def later(p):  # type: ignore[no-untyped-def]
            meanwhile(p)
            rendered.append(p)
            raise OSError(errno.ENOSPC, "No space left on device", "x")

        return real(plan, lock, subnets, later, diagram)

    monkeypatch.setattr(pipeline, "producer", failing_after)
    code, printed = _summary(tmp_path / "out", monkeypatch, 0)
    assert rendered and code == 2 and printed == ""


def test_every_file_of_the_set_is_fsynced_by_whichever_process_wrote_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Both processes fsync on threads; the child waits for its own before it exits.
    log = tmp_path / "fsynced"
    real = os.fsync

    def logged(fd: int) -> None:
        real(fd)
        with open(log, "a", encoding="utf-8") as fh:  # one short append per call: no interleaving
            fh.write(os.path.basename(os.readlink(f"/proc/self/fd/{fd}")) + "\n")

    monkeypatch.setattr(os, "fsync", logged)
    files = _written(tmp_path / "out", monkeypatch, 0)
    assert {Path(name).name for name in files} <= set(log.read_text().split())


@pytest.mark.parametrize("dot", [None, "/bin/false"])
def test_without_a_working_dot_the_set_holds_the_dot_source(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, dot: str | None
) -> None:
    # The diagram is laid out by this process from when the plan is known, whichever process
    # writes the reports; dot missing or failing leaves its source instead, in both cases.
    from microseg.io import diagram

    monkeypatch.setattr(diagram.shutil, "which", lambda name: dot)
    one = _written(tmp_path / "a" / "out", monkeypatch, 10**12)
    two = _written(tmp_path / "b" / "out", monkeypatch, 0)
    assert "topology.dot" in one and "topology.svg" not in one and two == one
    assert one["topology.dot"].startswith(b"digraph") or b"graph" in one["topology.dot"][:200]
