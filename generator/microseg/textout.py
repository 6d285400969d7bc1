"""Tables for people that stay readable in a CI log or an 80-column terminal.

A table is printed only when every column fits at its natural width; otherwise each row becomes a
small block of "column: value" lines. Nothing is ever squeezed into a column narrower than its
content (rich would fold a path one character per line)."""

from __future__ import annotations

from collections.abc import Sequence

from rich.console import Console
from rich.table import Table
from rich.text import Text


def _width(cell: str) -> int:
    return max((len(line) for line in cell.split("\n")), default=0)


def natural_width(columns: Sequence[str], rows: Sequence[Sequence[str]]) -> int:
    """Width of a boxed table whose columns are as wide as their widest cell (or header)."""
    widths = [max([_width(c), *(_width(r[i]) for r in rows)]) for i, c in enumerate(columns)]
    return sum(widths) + 3 * len(widths) + 1


def print_rows(
    console: Console,
    title: str,
    columns: Sequence[str],
    rows: Sequence[Sequence[str]],
    styles: Sequence[str | None] | None = None,
    show_lines: bool = False,
) -> None:
    """``rows`` of plain strings (printed as text, never as markup); ``styles`` per row."""
    if natural_width(columns, rows) <= console.width:
        table = Table(title=title, show_lines=show_lines)
        for c in columns:
            table.add_column(c, no_wrap=True, overflow="ignore")
        for i, row in enumerate(rows):
            style = styles[i] if styles else None
            table.add_row(*(Text(cell) for cell in row), style=style)
        console.print(table)
        return
    console.print(Text(title, style="italic"), soft_wrap=True)
    for i, row in enumerate(rows):
        style = (styles[i] if styles else None) or ""
        lead = f"- {columns[0]} {row[0]}" if row[0] else "-"
        console.print(Text(lead, style=style), soft_wrap=True)
        for c, cell in zip(columns[1:], row[1:], strict=True):
            if not cell:
                continue
            lines = cell.split("\n")
            console.print(Text(f"    {c}: {lines[0]}", style=style), soft_wrap=True)
            for more in lines[1:]:
                console.print(Text(f"      {more}", style=style), soft_wrap=True)
