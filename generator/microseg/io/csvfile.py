"""CSV rows with their line numbers: any column order, CRLF, blank lines, quoted fields."""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from typing import Any

from microseg.errors import Collector

# Whitespace a cell could keep: without quotes, \r and \n only ever end a line.
_CELL_SPACE = re.compile(r"[^\S\r\n]")
_ASCII_CELL_SPACE = " \t\v\f\x1c\x1d\x1e\x1f"  # the same, for ASCII text (each a fast substring scan)


def _plain(text: str) -> bool:
    """No quotes and no whitespace but line ends: every record is one line, no cell needs stripping."""
    if '"' in text:
        return False
    if text.isascii():
        return not any(c in text for c in _ASCII_CELL_SPACE)
    return _CELL_SPACE.search(text) is None


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
    text = text.removeprefix("\ufeff")
    if _plain(text):
        found = Collector()
        try:
            table = _plain_table(text, label, known, found, raw)
        except csv.Error:
            pass  # the general reader reports it where it is, after the rows before it
        else:
            problems.extend(found)
            return table
    return _general_table(text, label, known, problems, raw)


def _general_table(
    text: str, label: str, known: tuple[str, ...], problems: Collector, raw: bool
) -> Table | None:
    """read_table for any text: quoted fields over several lines, cells to strip."""
    reader = csv.reader(io.StringIO(text, newline=""), strict=True)
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


def _plain_table(
    text: str, label: str, known: tuple[str, ...], problems: Collector, raw: bool
) -> Table | None:
    """read_table for text without quotes and without whitespace in any cell (the usual export):
    every record is one line and nothing needs stripping, so rows are taken as the reader gives
    them, without a per-row loop in Python. Same table, same problems."""
    records = csv.reader(io.StringIO(text, newline=""), strict=True)
    # Blank lines (or lines of empty separators) have no non-empty cell.
    numbered = [(line, cells) for line, cells in enumerate(records, 1) if any(cells)]
    if not numbered:
        problems.error(label, 0, "-", "file is empty")
        return None
    start, record = numbered[0]
    header = [cell.strip().lower() for cell in record]
    _check_header(header, start, label, known, problems)
    width = len(header)
    rows = numbered[1:]
    if {len(cells) for _, cells in rows} - {width}:
        for line, cells in rows:
            if len(cells) != width:
                problems.error(
                    label, line, "-", f"row has {len(cells)} fields but the header has {width} (ragged row)"
                )
        rows = [(line, cells) for line, cells in rows if len(cells) == width]
    if not raw:
        if all(header):
            rows = [(line, dict(zip(header, cells, strict=True))) for line, cells in rows]
        else:
            rows = [(line, {h: v for h, v in zip(header, cells, strict=True) if h}) for line, cells in rows]
    return Table(tuple(header), start, rows)


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
