"""The output directory: an exclusive guard against concurrent runs, the lock, and atomic writes."""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import os
import shutil
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import BinaryIO

from microseg.errors import BusyError, Collector, InputError
from microseg.state import LockState

LOCK_NAME = "microseg.lock.json"
TFVARS = "microseg.auto.tfvars.json"
OUTPUT_NAMES = (TFVARS, LOCK_NAME, "report.md", "report.json", "topology.svg", "topology.dot")


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
        if path.is_symlink():  # planning from scratch now would renumber everything
            raise InputError(
                [
                    _problem(
                        path,
                        f"links to {os.readlink(path)}, which is missing; restore {GENERATIONS}/{CURRENT} "
                        "(or remove the link to start from an empty state deliberately)",
                    )
                ]
            ) from None
        return LockState(), None
    except (OSError, UnicodeDecodeError) as exc:
        raise InputError([_problem(path, f"cannot read the lock: {exc}")]) from None
    from microseg.parse.lockfile import parse_lock  # only a re-run has a lock to parse

    problems = Collector()
    lock = parse_lock(text, str(path), problems)
    problems.raise_if_errors()
    return lock, text


def _problem(path: Path, message: str):  # type: ignore[no-untyped-def]
    from microseg.errors import Problem

    return Problem(str(path), 0, "-", message)


GENERATIONS = ".generations"
CURRENT = "current"
# Stands in for the generation id in the lock while the id, which hashes the lock, is computed.
PLACEHOLDER = "@@microseg-generation@@"
FAULT: Callable[[str], None] | None = None  # test hook: called before every step, may raise


def _step(name: str) -> None:
    if FAULT is not None:
        FAULT(name)


def generation_id(parts: Iterable[bytes]) -> str:
    h = hashlib.sha256()
    for part in parts:
        h.update(hashlib.sha256(part).digest())
    return h.hexdigest()[:16]


# Characters encoded and written at a time from a file's text pieces: small enough that the
# buffers are reused from one chunk to the next, big enough that few write calls are made.
CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class Spliced:
    """A piece of a file's text that is already UTF-8 in another file: ``size`` bytes of ``fd`` from
    ``offset``, copied file to file by the kernel (no copy through this process's memory)."""

    fd: int
    offset: int
    size: int


Data = bytes | Sequence[str | Spliced]  # a file's bytes, or its text as pieces to join (UTF-8)


def write_data(fh: BinaryIO, data: Data) -> None:
    """``data`` into ``fh``: bytes as they are, text pieces encoded a chunk at a time."""
    if isinstance(data, bytes):
        fh.write(data)
        return
    buf: list[str] = []
    size = 0
    for part in data:
        if type(part) is Spliced:
            if buf:
                fh.write("".join(buf).encode())
                buf.clear()
                size = 0
            fh.flush()  # what the buffer holds goes first: sendfile writes at the file's offset
            _splice(part, fh.fileno())
            continue
        buf.append(part)
        size += len(part)
        if size >= CHUNK:
            fh.write("".join(buf).encode())
            buf.clear()
            size = 0
    if buf:
        fh.write("".join(buf).encode())


def _splice(part: Spliced, out: int) -> None:
    done = 0
    while done < part.size:
        sent = os.sendfile(out, part.fd, part.offset + done, part.size - done)
        if sent == 0:
            raise OSError(errno.EIO, "the text to copy ended early", "<handed-over text>")
        done += sent


def write_file(into: Path, name: str, data: Data) -> None:
    """One file of a generation, on disk before the generation is published."""
    _step(f"write:{name}")
    with open(into / name, "wb") as fh:
        write_data(fh, data)
        fh.flush()
        os.fsync(fh.fileno())


class Syncer:
    """write_file with the fsync on a thread of its own: the disk flushes one file while the caller
    renders the next (at 10k workloads the files are ~60 MB, and fsync waits without the GIL).
    ``wait()`` before the generation is published: every file is on disk then, as with write_file."""

    def __init__(self) -> None:
        self._threads: list[threading.Thread] = []
        self._errors: list[OSError] = []

    def write(self, into: Path, name: str, data: Data) -> None:
        _step(f"write:{name}")
        fh = open(into / name, "wb")  # noqa: SIM115 - closed by the thread that syncs it
        try:
            write_data(fh, data)
            fh.flush()
        except BaseException:
            fh.close()
            raise
        thread = threading.Thread(target=self._sync, args=(fh,), daemon=True)
        self._threads.append(thread)
        thread.start()

    def _sync(self, fh: BinaryIO) -> None:
        try:
            os.fsync(fh.fileno())
        except OSError as exc:
            self._errors.append(exc)
        finally:
            fh.close()

    def wait(self) -> None:
        """Every file written is on disk; raises the first failed fsync's error."""
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self._errors:
            raise self._errors[0]


def write_generation(directory: Path, gid: str, produce: Callable[[Path], None]) -> list[str]:
    """Have ``produce`` write the set into DIR/.generations/<gid>/, then switch
    DIR/.generations/current to it with one rename; DIR/<name> are symlinks through `current`, so
    a reader (and any interruption) sees the old set or the new one, never a mix. A failure
    removes what this run created. Returns the names written."""
    gens = directory / GENERATIONS
    _step("mkdir")
    gens.mkdir(exist_ok=True)
    _sweep(gens)
    if _readlink(gens / CURRENT) is None:
        _adopt_plain_files(directory)
    previous = _readlink(gens / CURRENT)
    created: list[Path] = []
    link_tmp = gens / f".{CURRENT}-{os.getpid()}"
    made = not (gens / gid).is_dir()
    try:
        _publish(gens, gid, produce)
        names = sorted(p.name for p in (gens / gid).iterdir())
        for name in names:
            path = directory / name
            if not path.is_symlink() and not path.exists():
                created.append(path)  # dangles (absent) until the swap, like the old set had it
            _link(directory, name)
        _step("link")
        os.symlink(gid, link_tmp)
        _step("swap")
        os.replace(link_tmp, gens / CURRENT)  # the commit point
    except BaseException:
        for path in created:
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
        with contextlib.suppress(FileNotFoundError):
            link_tmp.unlink()
        if made:
            shutil.rmtree(gens / gid, ignore_errors=True)
        raise
    with contextlib.suppress(OSError):
        fsync_dir(gens)
    _step("names")
    for path in directory.iterdir():  # names this generation does not have (topology.svg <-> .dot)
        link = _readlink(path)
        if link is not None and link.startswith(f"{GENERATIONS}/{CURRENT}/") and path.name not in names:
            path.unlink()
    _step("gc")
    keep = {gid, previous, CURRENT}  # the previous set stays for readers that resolved it just now
    for old in gens.iterdir():
        if old.name not in keep and not old.name.startswith("."):
            shutil.rmtree(old, ignore_errors=True)
    return names


def _publish(gens: Path, gid: str, produce: Callable[[Path], None]) -> None:
    """DIR/.generations/<gid>/ complete or absent: written under a temporary name, then renamed."""
    final = gens / gid
    if final.is_dir():
        return  # the same id is made from the same inputs and state: already complete
    tmp = gens / f".tmp-{gid}-{os.getpid()}"
    try:
        tmp.mkdir()
        produce(tmp)
        fsync_dir(tmp)
        _step("publish")
        os.rename(tmp, final)
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise


def _link(directory: Path, name: str) -> None:
    target = f"{GENERATIONS}/{CURRENT}/{name}"
    path = directory / name
    if _readlink(path) == target:
        return
    tmp = directory / f".{name}.link-{os.getpid()}"
    _step(f"link:{name}")
    os.symlink(target, tmp)
    os.replace(tmp, path)


def _adopt_plain_files(directory: Path) -> None:
    """An output directory of the old layout (plain files): make its set the current generation and
    turn each file into a link to the same bytes, so the switch to links changes nothing a reader sees."""
    old = {n: (directory / n).read_bytes() for n in OUTPUT_NAMES if (directory / n).is_file()}
    if not old:
        return
    gid = "adopted-" + generation_id(old.values())
    gens = directory / GENERATIONS

    def produce(into: Path) -> None:
        for name, data in old.items():
            write_file(into, name, data)

    _publish(gens, gid, produce)
    link_tmp = gens / f".{CURRENT}-{os.getpid()}"
    os.symlink(gid, link_tmp)
    os.replace(link_tmp, gens / CURRENT)
    for name in sorted(old, key=lambda n: (n == LOCK_NAME, n)):
        _link(directory, name)


def _sweep(gens: Path) -> None:
    """Leftovers of a run killed without cleanup (SIGKILL, power loss); we hold the guard."""
    for p in gens.iterdir():
        if p.name.startswith(".tmp-"):
            shutil.rmtree(p, ignore_errors=True)
        elif p.name.startswith(f".{CURRENT}-"):
            p.unlink(missing_ok=True)
    for p in gens.parent.iterdir():
        if ".link-" in p.name and p.name.startswith("."):
            p.unlink(missing_ok=True)


def _readlink(path: Path) -> str | None:
    try:
        return os.readlink(path)
    except OSError:
        return None


def fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
