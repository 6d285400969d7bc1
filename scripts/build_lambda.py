#!/usr/bin/env python3
"""Build the pod-health Lambda package as a byte-reproducible zip.

The offline toolchain has no `archive` provider, so the zip is built here and the module takes
its path (`lambda_zip_path`). Fixed timestamps, modes and order make the same source give the
same bytes, so `source_code_hash` only changes when the code does.

    python scripts/build_lambda.py [--out build/pod-health.zip]
"""

from __future__ import annotations

import argparse
import sys
import zipfile
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
SOURCE_DIR = REPO / "modules" / "pod-health" / "src"
DEFAULT_OUT = REPO / "build" / "pod-health.zip"
EPOCH = (1980, 1, 1, 0, 0, 0)  # the earliest date a zip entry can carry


def build(source_dir: Path, out: Path) -> Path:
    files = sorted(p for p in source_dir.rglob("*.py") if "__pycache__" not in p.parts)
    if not files:
        raise FileNotFoundError(f"no Python sources in {source_dir}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_suffix(".tmp")
    with zipfile.ZipFile(tmp, "w") as zf:
        for path in files:
            info = zipfile.ZipInfo(path.relative_to(source_dir).as_posix(), date_time=EPOCH)
            info.external_attr = 0o644 << 16
            info.compress_type = zipfile.ZIP_DEFLATED
            zf.writestr(info, path.read_bytes(), compresslevel=9)
    tmp.replace(out)
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"zip to write (default {DEFAULT_OUT})")
    parser.add_argument(
        "--source", type=Path, default=SOURCE_DIR, help="directory with the Lambda's .py files"
    )
    args = parser.parse_args(argv)
    try:
        path = build(args.source, args.out)
    except OSError as exc:
        print(f"build_lambda: {exc}", file=sys.stderr)
        return 1
    print(path)
    return 0


if __name__ == "__main__":
    sys.exit(main())
