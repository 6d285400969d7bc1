"""All-or-nothing output: one generation id per set, an interruption at any step leaves the old set
or the new one (never a mix, never a temp file), OS errors are clean exit-2 errors."""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from microseg.cli import app
from microseg.io import outdir
from microseg.pipeline import generate, load_inputs
from typer.testing import CliRunner

PROFILE = settings.get_profile("microseg-generator")
REPO = Path(__file__).resolve().parents[2]
EX = REPO / "examples"
runner = CliRunner()
V1 = "name,bandwidth_mbps,prefix_length\napp,100,20\ndb,100,22\n"
V2 = "name,bandwidth_mbps,prefix_length\napp,100,20\ndb,300,22\ncache,2600,24\n"


class Interrupted(BaseException):
    pass


def _visible(d: Path) -> dict[str, bytes]:
    """What a reader of DIR/<name> sees."""
    return {p.name: p.read_bytes() for p in sorted(d.iterdir()) if p.is_file()}


def _generation(files: dict[str, bytes]) -> str:
    gids = {
        json.loads(files["microseg.lock.json"])["generation"],
        json.loads(files["report.json"])["generation"],
        files["report.md"].decode().split("`")[1],
    }
    assert len(gids) == 1, gids
    return gids.pop()


def _run(inv: Path, out: Path, fault=None) -> None:  # type: ignore[no-untyped-def]
    outdir.FAULT = fault
    try:
        generate(out, load_inputs(inv, None, None))
    finally:
        outdir.FAULT = None


def _steps(inv: Path, out: Path) -> list[str]:
    seen: list[str] = []
    _run(inv, out, seen.append)
    return seen


@settings(PROFILE, max_examples=40)
@given(st.integers(0, 40), st.booleans())
def test_interruption_at_any_step_leaves_old_or_new_set(k: int, fresh: bool) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        base = Path(tmp)
        inv = base / "inv.csv"
        inv.write_text(V2)
        new = _visible_after(inv, base / "ref")  # the complete new set, for comparison
        out = base / "out"
        old: dict[str, bytes] = {}
        if not fresh:
            inv.write_text(V1)
            _run(inv, out)
            old = _visible(out)
            inv.write_text(V2)
        steps = _steps(inv, base / "count")
        calls = 0

        def fault(step: str) -> None:
            nonlocal calls
            calls += 1
            if calls == 1 + k % (len(steps) + 1):
                raise Interrupted(step)

        with contextlib.suppress(Interrupted):
            _run(inv, out, fault)
        seen = _visible(out) if out.exists() else {}
        assert seen in (old, new), (k, sorted(seen))
        if seen:
            _generation(seen)
        if out.exists():  # no temporary leftovers
            junk = [p.name for p in out.iterdir() if ".link-" in p.name]
            gens = out / outdir.GENERATIONS
            junk += [p.name for p in gens.iterdir() if p.name.startswith(".")] if gens.exists() else []
            assert not junk
        _run(inv, out)  # and the next run completes the new set
        assert _visible(out) == new


def _visible_after(inv: Path, out: Path) -> dict[str, bytes]:
    _run(inv, out)
    files = _visible(out)
    shutil.rmtree(out)
    # The lock's input paths are relative to DIR; every DIR here is a sibling, so they agree.
    return files


def _first_set(tmp_path: Path) -> tuple[Path, Path]:
    """An inventory (V1) and an output directory generated from it."""
    inv = tmp_path / "inv.csv"
    inv.write_text(V1)
    out = tmp_path / "out"
    _run(inv, out)
    return inv, out


def test_one_generation_id_and_unchanged_rerun_keeps_it(tmp_path: Path) -> None:
    inv, out = _first_set(tmp_path)
    first = _visible(out)
    gid = _generation(first)
    assert os.readlink(out / outdir.GENERATIONS / outdir.CURRENT) == gid
    _run(inv, out)
    assert _visible(out) == first
    inv.write_text(V2)
    _run(inv, out)
    assert _generation(_visible(out)) != gid
    inv.write_text(V1)
    _run(inv, out)
    # at most the current and the previous generation are kept
    kept = sorted(p.name for p in (out / outdir.GENERATIONS).iterdir())
    assert len(kept) == 3 and outdir.CURRENT in kept


def test_plain_files_of_the_old_layout_are_adopted(tmp_path: Path) -> None:
    inv, out = _first_set(tmp_path)
    plain = _visible(out)
    shutil.rmtree(out)
    out.mkdir()
    for name, data in plain.items():
        (out / name).write_bytes(data)

    def fault(step: str) -> None:
        if step == "swap":
            raise Interrupted(step)

    inv.write_text(V2)
    with pytest.raises(Interrupted):  # a new set, interrupted just before its switch
        _run(inv, out, fault)
    assert _visible(out) == plain and all((out / n).is_symlink() for n in plain)


def test_out_naming_a_file_is_a_clean_exit_2(tmp_path: Path) -> None:
    f = tmp_path / "file"
    f.write_text("x")
    r = runner.invoke(app, ["generate", str(EX / "inventory.csv"), "--out", str(f), "--json"])
    assert r.exit_code == 2
    doc = json.loads(r.stdout)
    assert doc["ok"] is False and "names a file" in doc["errors"][0]["message"]
    assert f.read_text() == "x"


def test_unwritable_location_is_a_clean_exit_2(tmp_path: Path) -> None:
    # /proc refuses new entries even to root.
    r = runner.invoke(app, ["generate", str(EX / "inventory.csv"), "--out", "/proc/microseg-out"])
    assert r.exit_code == 2
    assert "cannot write /proc/microseg-out" in r.stderr and "internal error" not in r.stderr


SCRIPT = """
import resource, signal, sys
from pathlib import Path
from microseg.cli import app
signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG instead
resource.setrlimit(resource.RLIMIT_FSIZE, (int(sys.argv[1]), int(sys.argv[1])))
sys.argv = ["microseg", "generate", sys.argv[2], "--out", sys.argv[3], "--json"]
app()
"""


@pytest.mark.parametrize("limit", [64, 2000, 6000])
def test_a_full_disk_leaves_the_old_set_and_no_temp_file(tmp_path: Path, limit: int) -> None:
    _, out = _first_set(tmp_path)
    old = _visible(out)
    big = tmp_path / "big.csv"
    big.write_text(V2)
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    p = subprocess.run(
        [sys.executable, "-c", SCRIPT, str(limit), str(big), str(out)],
        capture_output=True,
        text=True,
        env=env,
        check=False,
    )
    assert p.returncode == 2, p.stdout + p.stderr
    assert "Traceback" not in p.stderr
    assert json.loads(p.stdout)["exit_code"] == 2
    assert _visible(out) == old
    assert not [p for p in (out / outdir.GENERATIONS).iterdir() if p.name.startswith(".")]


def test_a_lock_link_to_a_missing_generation_is_refused(tmp_path: Path) -> None:
    inv, out = _first_set(tmp_path)
    (out / outdir.GENERATIONS / outdir.CURRENT).unlink()
    r = runner.invoke(app, ["generate", str(inv), "--out", str(out), "--json"])
    assert r.exit_code == 1
    assert "which is missing" in json.loads(r.stdout)["errors"][0]["message"]


def _in_startup(err: str) -> bool:
    """A traceback of the interrupt with no frame of ours: runpy or importlib still finding the
    package (`python -m microseg`), before any of its code runs. A frame under microseg/ is ours."""
    return "Traceback" in err and "/microseg/" not in err and err.rstrip().endswith("KeyboardInterrupt")


def test_a_real_sigint_leaves_a_whole_set_and_no_traceback(tmp_path: Path) -> None:
    # Big enough that generating takes a while; interrupted at several moments.
    inv = tmp_path / "inv.csv"
    inv.write_text("name,bandwidth_mbps,prefix_length\n" + "".join(f"w{i},10,25\n" for i in range(3000)))
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    cmd = [sys.executable, "-m", "microseg", "generate", str(inv), "--out", str(out)]
    assert subprocess.run(cmd, env=env, capture_output=True, check=False).returncode == 0
    old = _visible(out)
    inv.write_text(inv.read_text() + "extra,10,25\n")
    for delay in (0.1, 0.3, 0.6, 0.9, 1.2):
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        time.sleep(delay)
        p.send_signal(signal.SIGINT)
        _, err = p.communicate(timeout=60)
        if "Could not import runpy module" in err or "init_import_site" in err or _in_startup(err):
            continue  # interrupted inside Python's own start-up (slow on a loaded machine), before our code
        assert "Traceback" not in err, err
        seen = _visible(out)
        assert seen == old or _generation(seen) != _generation(old)
        _generation(seen)  # one id across the set
        assert not [q for q in (out / outdir.GENERATIONS).iterdir() if q.name.startswith(".")]
