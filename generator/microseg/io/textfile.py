"""Read an input file as text: UTF-8 with or without BOM, with precise messages when it is not."""

from __future__ import annotations

from pathlib import Path

from microseg.errors import Collector


def read_text(path: Path, label: str, problems: Collector) -> str | None:
    """Return the decoded text, or None after recording why it cannot be used."""
    try:
        raw = path.read_bytes()
    except FileNotFoundError:
        problems.error(label, 0, "-", "file not found")
        return None
    except IsADirectoryError:
        problems.error(label, 0, "-", "is a directory, expected a file")
        return None
    except OSError as exc:
        problems.error(label, 0, "-", f"cannot be read: {exc.strerror}")
        return None
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        problems.error(label, 1, "-", "file is UTF-16; save it as UTF-8")
        return None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw.count(b"\n", 0, exc.start) + 1
        col = exc.start - (raw.rfind(b"\n", 0, exc.start) + 1) + 1
        problems.error(
            label,
            line,
            "-",
            f"not valid UTF-8 (byte 0x{raw[exc.start]:02x} at character {col}); save the file as UTF-8",
        )
        return None
    if not text.strip():
        problems.error(label, 0, "-", "file is empty")
        return None
    return text
