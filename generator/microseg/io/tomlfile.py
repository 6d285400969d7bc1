"""TOML with the line each key was written on (tomllib keeps no positions)."""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

from microseg.errors import Collector
from microseg.io.textfile import read_text

_TABLE = re.compile(r"^\s*\[\[?\s*([^\]]+?)\s*\]\]?\s*(#.*)?$")
_KEY = re.compile(
    r"""^\s*((?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*')(?:\s*\.\s*(?:[A-Za-z0-9_-]+|"[^"]*"|'[^']*'))*)\s*="""
)
_AT = re.compile(r"\(at line (\d+), column (\d+)\)")


def _split_key(text: str) -> list[str]:
    parts = re.findall(r"""[A-Za-z0-9_-]+|"[^"]*"|'[^']*'""", text)
    return [p[1:-1] if p[:1] in "\"'" else p for p in parts]


def key_lines(text: str) -> dict[str, int]:
    """Map dotted key paths ("pods.spares") to the line that sets them. Best effort, not a parser:
    multi-line values are skipped by only looking at lines outside open brackets/strings."""
    lines: dict[str, int] = {}
    table: list[str] = []
    depth = 0
    in_multiline = False
    for n, line in enumerate(text.splitlines(), 1):
        if in_multiline:
            if line.count('"""') % 2 == 1 or line.count("'''") % 2 == 1:
                in_multiline = False
            continue
        if depth == 0:
            m = _TABLE.match(line)
            if m and not _KEY.match(line):
                table = _split_key(m.group(1))
                lines.setdefault(".".join(table), n)
                continue
            m = _KEY.match(line)
            if m:
                path = ".".join([*table, *_split_key(m.group(1))])
                lines.setdefault(path, n)
                rest = line[m.end() :]
                if rest.count('"""') % 2 == 1 or rest.count("'''") % 2 == 1:
                    in_multiline = True
                depth += _bracket_delta(rest)
                continue
        else:
            depth += _bracket_delta(line)
        depth = max(depth, 0)
    return lines


def _bracket_delta(text: str) -> int:
    text = re.sub(r'"(?:[^"\\]|\\.)*"|\'[^\']*\'', "", text.split("#", 1)[0] if '"' not in text else text)
    text = text.split("#", 1)[0]
    return text.count("[") + text.count("{") - text.count("]") - text.count("}")


def read_toml(path: Path, label: str, problems: Collector) -> tuple[dict[str, Any], dict[str, int]] | None:
    import tomllib  # here, not at the top: a run without a settings file never parses TOML

    text = read_text(path, label, problems)
    if text is None:
        return None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        msg = str(exc)
        m = _AT.search(msg)
        line = int(m.group(1)) if m else 0
        col = f"char {m.group(2)}" if m else "-"
        problems.error(label, line, col, f"invalid TOML: {_AT.sub('', msg).strip()}")
        return None
    return data, key_lines(text)
