"""Mutation check: break the rendered configs and the agent on purpose, and prove a test fails.

Each mutant in `mutants.py` replaces one exact piece of text in one file of a copy of the
repository (the text must occur exactly as often as the mutant says, so a mutant that no longer
matches the code fails the check instead of silently testing nothing), then runs the tests that
should notice, stopping at the first failure. A mutant is *killed* when pytest exits 1 (a test
failed); exit 0 (every test passed) means it *survived*; any other exit (collection or usage error)
is an error, never counted as a kill.

usage: python tests/mutation/run.py [--only NAME ...] [--list] [--keep]
Needs what the tests it runs need (root for the lab tests) and the toolchain on PATH
(`source scripts/lib.sh && toolchain_env`); scripts/test.sh runs it as its last tier.
"""

from __future__ import annotations

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
REPO = HERE.parent.parent
sys.path.insert(0, str(HERE))
from mutants import MUTANTS, Mutant  # noqa: E402


def copy_repo(dest: Path) -> None:
    """The tracked files (as in the working tree), not build outputs or .terraform directories."""
    files = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO,
        check=True,
        capture_output=True,
    ).stdout.split(b"\0")
    for name in filter(None, files):
        src = REPO / name.decode()
        if not src.is_file():
            continue
        target = dest / name.decode()
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(src, target)


def apply(mutant: Mutant, root: Path) -> None:
    path = root / mutant.file
    text = path.read_text(encoding="utf-8")
    for old, new in mutant.edits:
        if (found := text.count(old)) != 1:
            raise SystemExit(
                f"{mutant.file}: mutant {mutant.name!r} expects its text once, found it {found} times: "
                f"update tests/mutation/mutants.py to the current code:\n{old}"
            )
        text = text.replace(old, new)
    path.write_text(text, encoding="utf-8")


def run(mutant: Mutant, keep: bool) -> tuple[str, str, float]:
    """(verdict, detail, seconds): verdict is killed / survived / error."""
    root = Path(tempfile.mkdtemp(prefix=f"microseg-mutant-{mutant.name}-"))
    start = time.monotonic()
    try:
        copy_repo(root)
        apply(mutant, root)
        env = dict(
            os.environ, PYTHONPATH=f"{root / 'generator'}{os.pathsep}{os.environ.get('PYTHONPATH', '')}"
        )
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "pytest",
                "-x",
                "-q",
                "-p",
                "no:cacheprovider",
                "-p",
                "no:randomly",
                "-o",
                "addopts=-rfE --strict-markers",
                *mutant.tests,
            ],
            cwd=root,
            env=env,
            capture_output=True,
            text=True,
        )
        seconds = time.monotonic() - start
        if proc.returncode == 1:
            # FAILED: a test's assertion; ERROR: its fixture (e.g. the lab cannot load the config).
            failed = re.findall(r"^((?:FAILED|ERROR) \S+)", proc.stdout, re.MULTILINE)
            why = re.search(r"^E {2,}(.+)$", proc.stdout, re.MULTILINE)  # the first assertion's message
            detail = (failed[0] if failed else "a test failed") + (
                f"\n    {why.group(1)[:200]}" if why else ""
            )
            return "killed", detail, seconds
        if proc.returncode == 0:
            return "survived", "every test passed", seconds
        tail = (proc.stdout + proc.stderr).strip().splitlines()[-15:]
        return "error", f"pytest exit {proc.returncode}:\n    " + "\n    ".join(tail), seconds
    finally:
        if keep:
            print(f"  kept {root}", file=sys.stderr)
        else:
            shutil.rmtree(root, ignore_errors=True)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--only", nargs="+", metavar="NAME", help="run these mutants only")
    p.add_argument("--list", action="store_true", help="list the mutants and exit")
    p.add_argument("--keep", action="store_true", help="keep each mutant's copy of the repository")
    args = p.parse_args(argv)
    names = [m.name for m in MUTANTS]
    if args.only and (unknown := sorted(set(args.only) - set(names))):
        p.error(f"unknown mutant(s): {', '.join(unknown)}; known: {', '.join(names)}")
    chosen = [m for m in MUTANTS if not args.only or m.name in args.only]
    if args.list:
        for m in chosen:
            print(f"{m.name:28} {m.file}\n{'':28} {m.why}")
        return 0
    results = []
    for m in chosen:
        print(f"mutant {m.name}: {m.why}", flush=True)
        verdict, detail, seconds = run(m, args.keep)
        print(f"  {verdict} in {seconds:.0f}s: {detail}", flush=True)
        results.append((m.name, verdict, seconds))
    killed = sum(v == "killed" for _, v, _ in results)
    print(f"\n{killed}/{len(results)} mutants killed in {sum(s for *_, s in results):.0f}s")
    for name, verdict, seconds in results:
        print(f"  {name:28} {verdict:9} {seconds:5.0f}s")
    return 0 if killed == len(results) else 1


if __name__ == "__main__":
    sys.exit(main())
