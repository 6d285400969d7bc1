"""Problems found in the inputs, and the exceptions that carry them to the CLI edge."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, order=True)
class Problem:
    """One finding, printed as ``file:line: column: message``.

    ``line`` 0 means the file as a whole (missing, empty, undecodable without a position).
    """

    file: str
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.column}: {self.message}"

    def as_dict(self) -> dict[str, object]:
        return {"file": self.file, "line": self.line, "column": self.column, "message": self.message}


class InputError(Exception):
    """The inputs are invalid: exit 1, nothing written."""

    exit_code = 1

    def __init__(self, problems: list[Problem]) -> None:
        super().__init__("\n".join(str(p) for p in problems))
        self.problems = sorted(set(problems), key=_order)


class UsageError(InputError):
    """A command-line flag cannot be honoured (e.g. --release of an unknown name): exit 2."""

    exit_code = 2


class ExhaustedError(InputError):
    """An address space or ASN pool has no room left: exit 3, nothing written."""

    exit_code = 3


class OutputError(Exception):
    """The output directory cannot be written (read-only, full, not a directory): exit 2."""

    exit_code = 2

    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path, self.reason = str(path), reason


class BusyError(Exception):
    """Another run holds the output directory."""


def _order(p: Problem) -> tuple[str, int, str, str]:
    return (p.file, p.line, p.column, p.message)


class Collector:
    """Accumulates problems so every one of them is reported at once."""

    def __init__(self) -> None:
        self.errors: list[Problem] = []
        self.warnings: list[Problem] = []

    def error(self, file: str, line: int, column: str, message: str) -> None:
        self.errors.append(Problem(file, line, column, message))

    def warn(self, file: str, line: int, column: str, message: str) -> None:
        self.warnings.append(Problem(file, line, column, message))

    def extend(self, other: Collector) -> None:
        self.errors.extend(other.errors)
        self.warnings.extend(other.warnings)

    def raise_if_errors(self) -> None:
        if self.errors:
            raise InputError(self.errors)
