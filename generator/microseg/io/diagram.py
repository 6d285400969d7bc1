"""Graphviz: dot source -> SVG, or None when dot is unavailable (the caller then writes the .dot)."""

from __future__ import annotations

import shutil
import subprocess


def render_svg(dot_source: str) -> tuple[bytes | None, str | None]:
    """(svg, None) on success, (None, reason) when dot is missing or fails."""
    exe = shutil.which("dot")
    if exe is None:
        return None, "Graphviz 'dot' not found; wrote topology.dot instead of topology.svg"
    try:
        proc = subprocess.run(
            [exe, "-Tsvg"], input=dot_source.encode(), capture_output=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        return None, f"Graphviz 'dot' failed ({exc}); wrote topology.dot instead of topology.svg"
    if proc.returncode != 0:
        reason = proc.stderr.decode(errors="replace").strip().splitlines()[:1]
        return (
            None,
            f"Graphviz 'dot' failed ({'; '.join(reason)}); wrote topology.dot instead of topology.svg",
        )
    return proc.stdout, None
