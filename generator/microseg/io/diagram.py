"""Graphviz: dot source -> SVG, or None when dot is unavailable (the caller then writes the .dot)."""

from __future__ import annotations

import shutil
import subprocess


class SvgJob:
    """dot running in the background: started before the big files are rendered and collected
    after, so its layout (~50 ms at 10k workloads) overlaps them."""

    def __init__(self, dot_source: str) -> None:
        self.proc: subprocess.Popen[bytes] | None = None
        self.failed: str | None = None
        exe = shutil.which("dot")
        if exe is None:
            self.failed = "Graphviz 'dot' not found; wrote topology.dot instead of topology.svg"
            return
        try:
            self.proc = subprocess.Popen(
                [exe, "-Tsvg"], stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE
            )
            # dot reads the whole graph before it writes, so this cannot block on its output.
            stdin, self.proc.stdin = self.proc.stdin, None  # communicate() must not flush it again
            assert stdin is not None
            with stdin:
                stdin.write(dot_source.encode())
        except OSError as exc:
            self.cancel()
            self.failed = f"Graphviz 'dot' failed ({exc}); wrote topology.dot instead of topology.svg"

    def result(self) -> tuple[bytes | None, str | None]:
        """(svg, None) on success, (None, reason) when dot is missing or fails."""
        if self.proc is None:
            return None, self.failed
        try:
            out, err = self.proc.communicate(timeout=120)
        except (OSError, subprocess.TimeoutExpired) as exc:
            self.cancel()
            return None, f"Graphviz 'dot' failed ({exc}); wrote topology.dot instead of topology.svg"
        code, self.proc = self.proc.returncode, None  # collected: cancel() has nothing left to stop
        if code != 0:
            reason = err.decode(errors="replace").strip().splitlines()[:1]
            return (
                None,
                f"Graphviz 'dot' failed ({'; '.join(reason)}); wrote topology.dot instead of topology.svg",
            )
        return out, None

    def cancel(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.communicate()
            self.proc = None


def render_svg(dot_source: str) -> tuple[bytes | None, str | None]:
    """(svg, None) on success, (None, reason) when dot is missing or fails."""
    return SvgJob(dot_source).result()
