"""The output directory: an exclusive guard against concurrent runs, the lock, and atomic writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import os
import time
from collections.abc import Iterator
from pathlib import Path

from microseg.errors import BusyError, Collector, InputError
from microseg.parse.lockfile import parse_lock
from microseg.state import LockState

LOCK_NAME = "microseg.lock.json"


@contextlib.contextmanager
def guard(directory: Path, timeout: float | None = None) -> Iterator[None]:
    """Hold an exclusive flock on the directory itself (no extra file, so a failed run leaves no trace).

    A second run waits (default 30 s, env MICROSEG_LOCK_TIMEOUT) and then plans against whatever
    the first one wrote, so two runs never interleave their read-modify-write of the lock.
    """
    if timeout is None:
        timeout = float(os.environ.get("MICROSEG_LOCK_TIMEOUT", "30"))
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        deadline = time.monotonic() + timeout
        while True:
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
                break
            except OSError as exc:
                if exc.errno not in (errno.EWOULDBLOCK, errno.EAGAIN):
                    raise
                if time.monotonic() >= deadline:
                    raise BusyError(
                        f"{directory} is in use by another microseg run (waited {timeout:g}s)"
                    ) from None
                time.sleep(0.05)
        yield
    finally:
        os.close(fd)  # closing releases the flock


def read_lock(directory: Path) -> tuple[LockState, str | None]:
    """The lock in ``directory`` (empty when there is none) and its raw text."""
    path = directory / LOCK_NAME
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return LockState(), None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([_problem(path, f"cannot read the lock: {exc}")]) from None
    problems = Collector()
    lock = parse_lock(text, str(path), problems)
    problems.raise_if_errors()
    return lock, text


def _problem(path: Path, message: str):  # type: ignore[no-untyped-def]
    from microseg.errors import Problem

    return Problem(str(path), 0, "-", message)


def write_files(directory: Path, files: dict[str, bytes], last: str = LOCK_NAME) -> None:
    """Write every file to a temporary name, fsync, then rename into place; the lock goes last,
    so an interrupted run leaves the previous lock in charge."""
    staged: list[tuple[Path, Path]] = []
    try:
        for name in sorted(files, key=lambda n: (n == last, n)):
            target = directory / name
            tmp = directory / f".{name}.tmp-{os.getpid()}"
            with open(tmp, "wb") as fh:
                fh.write(files[name])
                if name == last:  # the lock must survive a crash; the rest is regenerated from it
                    fh.flush()
                    os.fsync(fh.fileno())
            staged.append((tmp, target))
        for tmp, target in staged:
            os.replace(tmp, target)
        dir_fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(dir_fd)
        finally:
            os.close(dir_fd)
    finally:
        for tmp, _ in staged:
            with contextlib.suppress(FileNotFoundError):
                tmp.unlink()
