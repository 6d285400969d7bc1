#!/usr/bin/env python3
"""Render the input/output tables of a module README from its variables.tf and outputs.tf.

    scripts/docs_tables.py [--check] [DIR ...]

Rewrites the text between `<!-- BEGIN_TF_DOCS -->` and `<!-- END_TF_DOCS -->` in DIR/README.md
(default: every modules/*/ and examples/*/ whose README.md has the markers). With --check nothing
is written: out-of-date READMEs are listed and the exit code is 1.

terraform-docs is not available offline, so this is a small HCL reader that understands exactly
what our variables.tf/outputs.tf use: top-level blocks, quoted strings with interpolation,
comments, heredocs and bracketed multi-line expressions. Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

BEGIN = "<!-- BEGIN_TF_DOCS -->"
END = "<!-- END_TF_DOCS -->"
REPO = Path(__file__).resolve().parent.parent
BLOCK_RE = re.compile(r'^(variable|output)\s+"([^"]+)"\s*\{', re.MULTILINE)
ATTR_RE = re.compile(r"([A-Za-z_][A-Za-z0-9_-]*)\s*=(?!=)")
HEREDOC_RE = re.compile(r"<<-?([A-Za-z_][A-Za-z0-9_]*)\n")


class HclError(Exception):
    """A parse problem, reported as `file:line: column: message`."""

    def __init__(self, path: Path, text: str, pos: int, message: str) -> None:
        line = text.count("\n", 0, pos) + 1
        column = pos - (text.rfind("\n", 0, pos) + 1) + 1
        super().__init__(f"{path}:{line}: {column}: {message}")


@dataclass(frozen=True)
class Variable:
    name: str
    description: str
    type: str
    default: str | None  # raw HCL text; None when the variable is required


@dataclass(frozen=True)
class Output:
    name: str
    description: str


def _skip_string(text: str, pos: int, path: Path) -> int:
    """Return the index after the quoted string starting at text[pos] (a '"')."""
    i = pos + 1
    while i < len(text):
        c = text[i]
        if c == "\\":
            i += 2
            continue
        if c == '"':
            return i + 1
        if c == "\n":
            break
        if text.startswith(("${", "%{"), i):
            i = _skip_balanced(text, i + 1, path, "{", "}")
            continue
        i += 1
    raise HclError(path, text, pos, "unterminated string")


def _skip_balanced(text: str, pos: int, path: Path, open_c: str, close_c: str) -> int:
    """text[pos] is an opening bracket; return the index after its matching close."""
    depth = 0
    i = pos
    while i < len(text):
        c = text[i]
        if c == '"':
            i = _skip_string(text, i, path)
            continue
        if c == "#" or text.startswith("//", i):
            i = text.find("\n", i)
            i = len(text) if i < 0 else i
            continue
        if text.startswith("/*", i):
            end = text.find("*/", i + 2)
            if end < 0:
                raise HclError(path, text, i, "unterminated comment")
            i = end + 2
            continue
        heredoc = HEREDOC_RE.match(text, i)
        if heredoc:
            end = re.compile(rf"^\s*{re.escape(heredoc.group(1))}\s*$", re.MULTILINE).search(
                text, heredoc.end()
            )
            if not end:
                raise HclError(path, text, i, f"unterminated heredoc {heredoc.group(1)}")
            i = end.end()
            continue
        if c in "{[(":
            depth += 1
        elif c in "}])":
            depth -= 1
            if depth == 0:
                return i + 1
        i += 1
    raise HclError(path, text, pos, f"no matching '{close_c}'")


def _expression_end(text: str, pos: int, path: Path) -> int:
    """Index of the end of the expression starting at pos (newline at bracket depth 0)."""
    i = pos
    while i < len(text):
        c = text[i]
        if c == "\n":
            return i
        if c == '"':
            i = _skip_string(text, i, path)
        elif c in "{[(":
            i = _skip_balanced(text, i, path, c, {"{": "}", "[": "]", "(": ")"}[c])
        elif c == "#" or text.startswith("//", i):
            return i
        else:
            heredoc = HEREDOC_RE.match(text, i)
            if heredoc:
                end = re.compile(rf"^\s*{re.escape(heredoc.group(1))}\s*$", re.MULTILINE).search(
                    text, heredoc.end()
                )
                if not end:
                    raise HclError(path, text, i, f"unterminated heredoc {heredoc.group(1)}")
                return end.end()
            i += 1
    return i


def _attributes(text: str, start: int, end: int, path: Path) -> dict[str, str]:
    """Top-level `name = expr` attributes of the block body text[start:end] (nested blocks skipped)."""
    attrs: dict[str, str] = {}
    i = start
    while i < end:
        c = text[i]
        if c.isspace():
            i += 1
            continue
        if c == "#" or text.startswith("//", i):
            nl = text.find("\n", i)
            i = end if nl < 0 else nl
            continue
        m = ATTR_RE.match(text, i)
        if m:
            expr_start = m.end()
            expr_end = _expression_end(text, expr_start, path)
            attrs[m.group(1)] = text[expr_start:expr_end].strip()
            i = expr_end
            continue
        brace = text.find("{", i, end)
        if brace < 0:
            raise HclError(path, text, i, "expected an attribute or a nested block")
        i = _skip_balanced(text, brace, path, "{", "}")
    return attrs


def _blocks(path: Path, kind: str) -> list[tuple[str, dict[str, str]]]:
    if not path.exists():
        return []
    text = path.read_text(encoding="utf-8")
    found = []
    for m in BLOCK_RE.finditer(text):
        if m.group(1) != kind:
            continue
        body_end = _skip_balanced(text, m.end() - 1, path, "{", "}")
        found.append((m.group(2), _attributes(text, m.end(), body_end - 1, path)))
    return found


def _string_value(raw: str | None) -> str:
    if raw is None:
        return ""
    raw = raw.strip()
    if raw.startswith('"') and raw.endswith('"'):
        return raw[1:-1].replace('\\"', '"').replace("\\\\", "\\")
    return raw


def _one_line(expr: str) -> str:
    """Collapse a multi-line HCL expression into one readable line."""
    lines = [ln.split(" #", 1)[0].strip() for ln in expr.strip().splitlines()]
    lines = [ln for ln in lines if ln]
    out = ""
    for ln in lines:
        if out and not out.endswith(("{", "[", "(", ",")) and not ln.startswith(("}", "]", ")")):
            out += ", "
        elif out:
            out += " "
        out += ln
    out = re.sub(r",\s*([\]})])", r" \1", out)  # trailing commas add nothing to a one-liner
    return re.sub(r"\s+", " ", out)


def read_variables(module_dir: Path) -> list[Variable]:
    result = []
    for name, attrs in _blocks(module_dir / "variables.tf", "variable"):
        result.append(
            Variable(
                name=name,
                description=_string_value(attrs.get("description")),
                type=_one_line(attrs.get("type", "any")),
                default=_one_line(attrs["default"]) if "default" in attrs else None,
            )
        )
    return sorted(result, key=lambda v: v.name)


def read_outputs(module_dir: Path) -> list[Output]:
    result = [
        Output(name=name, description=_string_value(attrs.get("description")))
        for name, attrs in _blocks(module_dir / "outputs.tf", "output")
    ]
    return sorted(result, key=lambda o: o.name)


def _cell(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def _code(text: str) -> str:
    return "`" + _cell(text) + "`" if text else ""


def render(module_dir: Path) -> str:
    variables = read_variables(module_dir)
    outputs = read_outputs(module_dir)
    lines = ["## Inputs", ""]
    if variables:
        lines += [
            "| Name | Description | Type | Default | Required |",
            "|------|-------------|------|---------|:--------:|",
        ]
        for v in variables:
            default = "n/a" if v.default is None else _code(v.default)
            required = "yes" if v.default is None else "no"
            lines.append(
                f"| `{v.name}` | {_cell(v.description)} | {_code(v.type)} | {default} | {required} |"
            )
    else:
        lines.append("No inputs.")
    lines += ["", "## Outputs", ""]
    if outputs:
        lines += ["| Name | Description |", "|------|-------------|"]
        lines += [f"| `{o.name}` | {_cell(o.description)} |" for o in outputs]
    else:
        lines.append("No outputs.")
    return "\n".join(lines) + "\n"


def update(readme: Path, tables: str) -> str:
    """Return the README text with the marked section replaced by tables."""
    text = readme.read_text(encoding="utf-8")
    start, end = text.find(BEGIN), text.find(END)
    if start < 0 or end < start:
        raise HclError(readme, text, 0, f"missing {BEGIN} ... {END} markers")
    return text[: start + len(BEGIN)] + "\n" + tables + text[end:]


def default_dirs() -> list[Path]:
    dirs = sorted(REPO.glob("modules/*/")) + sorted(REPO.glob("stacks/*/")) + sorted(REPO.glob("examples/*/"))
    return [d for d in dirs if (d / "README.md").exists() and BEGIN in (d / "README.md").read_text()]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--check", action="store_true", help="report out-of-date READMEs, write nothing")
    parser.add_argument("dirs", nargs="*", type=Path, help="module directories (default: all with markers)")
    args = parser.parse_args(argv)

    dirs = args.dirs or default_dirs()
    errors: list[str] = []
    pending: dict[Path, str] = {}
    for d in dirs:
        readme = d / "README.md"
        if not readme.exists():
            errors.append(f"{readme}:1: 1: README.md not found")
            continue
        try:
            new = update(readme, render(d))
        except (HclError, OSError) as exc:
            errors.append(str(exc))
            continue
        if new != readme.read_text(encoding="utf-8"):
            pending[readme] = new
    if errors:
        # Bad input: report everything, write nothing.
        print("\n".join(errors), file=sys.stderr)
        return 1
    if args.check:
        for readme in pending:
            print(f"{readme}:1: 1: input/output tables are out of date (run scripts/docs_tables.py)")
        return 1 if pending else 0
    for readme, text in pending.items():
        readme.write_text(text, encoding="utf-8")
        print(f"updated {readme}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
