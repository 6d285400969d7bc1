"""CSV rows with their line numbers: any column order, CRLF, blank lines, quoted fields."""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass
from typing import Any

from microseg.errors import Collector


@dataclass(frozen=True, slots=True)
class Table:
    header: tuple[str, ...]  # lower-cased, stripped
    header_line: int
    rows: list[tuple[int, Any]]  # (line, {column: stripped value}), or (line, [stripped values]) if raw

    def row_dict(self, values: list[str]) -> dict[str, str]:
        """A raw row as read_table would have given it (unnamed columns dropped)."""
        if all(self.header):
            return dict(zip(self.header, values, strict=True))
        return {h: v for h, v in zip(self.header, values, strict=True) if h}


def read_table(
    text: str, label: str, known: tuple[str, ...], problems: Collector, raw: bool = False
) -> Table | None:
    """Parse CSV text. Unknown columns are warnings; ragged rows and duplicate headers are errors.
    ``raw``: each row as its list of stripped values in header order, without a dict per row."""
    reader = csv.reader(io.StringIO(text.removeprefix("\ufeff"), newline=""), strict=True)
    header: list[str] | None = None
    header_line = 0
    rows: list[tuple[int, dict[str, str]]] = []
    line = 1
    named = True  # every header cell has a name (else unnamed columns are dropped per row)
    strip = str.strip
    try:
        for record in reader:
            start, line = line, reader.line_num + 1
            if not "".join(record).strip():
                continue  # blank line (or a line of empty separators)
            if header is None:
                header = [cell.strip().lower() for cell in record]
                header_line = start
                named = all(header)
                _check_header(header, start, label, known, problems)
                continue
            if len(record) != len(header):
                problems.error(
                    label,
                    start,
                    "-",
                    f"row has {len(record)} fields but the header has {len(header)} (ragged row)",
                )
                continue
            if raw:
                rows.append((start, list(map(strip, record))))
                continue
            values = zip(header, map(strip, record), strict=True)
            rows.append((start, dict(values) if named else {h: v for h, v in values if h}))
    except csv.Error as exc:
        problems.error(label, reader.line_num, "-", f"malformed CSV: {exc}")
        return None
    if header is None:
        problems.error(label, 0, "-", "file is empty")
        return None
    return Table(tuple(header), header_line, rows)


def _check_header(
    header: list[str], line: int, label: str, known: tuple[str, ...], problems: Collector
) -> None:
    seen: set[str] = set()
    for i, name in enumerate(header, 1):
        if not name:
            problems.error(label, line, f"#{i}", "empty column name in the header")
        elif name in seen:
            problems.error(label, line, name, "duplicate column")
        elif name not in known:
            problems.warn(label, line, name, "unknown column, ignored")
        seen.add(name)
