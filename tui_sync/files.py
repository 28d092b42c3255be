"""Files tui_sync writes (O2): private state files, and the outputs an operator names.

The state folder and everything in it hold logins and personal data: the folder is
created 0700 and its files 0600 — created so (a mode at `open`), never loosened and
chmodded afterwards.

An output path (`plan --out`, `export`) is written like a shell redirect would: a
symlink is followed (its target is written, the link stays), an existing device or
FIFO (`/dev/null`, a pipe) is written through, never replaced; a regular file is
replaced atomically, so a half-written file is never left behind.
"""
from __future__ import annotations

import os
import shutil
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

from .errors import UsageError

PRIVATE_DIR = 0o700
PRIVATE_FILE = 0o600


def private_dir(path: Path) -> Path:
    """The folder, created 0700 when it is missing (its parents with the usual mode)."""
    path = Path(path)
    if not path.is_dir():
        path.parent.mkdir(parents=True, exist_ok=True)
        try:
            path.mkdir(mode=PRIVATE_DIR)
        except FileExistsError:
            if not path.is_dir():
                raise
    return path


def open_private(path: Path, flags: int = os.O_WRONLY | os.O_CREAT | os.O_APPEND) -> int:
    """`os.open` of a state file: created 0600 (an existing file keeps its mode)."""
    return os.open(path, flags | getattr(os, "O_CLOEXEC", 0), PRIVATE_FILE)


def create_private(path: Path) -> None:
    """Create `path` empty with mode 0600 unless it exists: for files another library opens (an
    empty file is a valid empty SQLite database; its journal and WAL files take its mode)."""
    try:
        os.close(open_private(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL))
    except FileExistsError:
        pass


def write_output(path: Path, write: Callable[[BinaryIO], None], *, what: str = "the file") -> None:
    """Write an output the operator named (O2): a symlink is followed, a device or FIFO written
    through; a regular file is replaced atomically, keeping its permissions; a new one is
    created 0600 (it may hold personal data)."""
    path = Path(path)
    try:
        st: os.stat_result | None = os.stat(path)  # (follows a symlink)
    except FileNotFoundError:
        st = None
    except OSError as e:
        raise _unwritable(path, what, e) from None
    if st is not None and stat.S_ISDIR(st.st_mode):
        raise UsageError(f"cannot write {what}: this is a folder", where=str(path),
                         hint=f"name a file, e.g. {path / 'plan.json'}" if what == "the plan" else
                         "name a file inside that folder")
    try:
        if st is not None and not stat.S_ISREG(st.st_mode):
            with open(path, "wb") as out:  # /dev/null, a FIFO, a terminal: written through, like `>`
                write(out)
            return
        target = Path(os.path.realpath(path))  # a symlink's target is written; the link stays
        target.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}-", suffix=".tmp")  # 0600
        try:
            with os.fdopen(fd, "wb") as out:
                if st is not None:  # the file it replaces keeps its permissions
                    os.fchmod(out.fileno(), stat.S_IMODE(st.st_mode))
                write(out)
            os.replace(tmp, target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
    except OSError as e:
        raise _unwritable(path, what, e) from None


def same_regular_file(a: Path, b: Path) -> bool:
    """Do two output paths name one file (through symlinks, `./` or hard links)? A device or
    FIFO named twice is not one file in this sense: writing it twice is what was asked."""
    ra, rb = os.path.realpath(a), os.path.realpath(b)
    try:
        st = os.stat(ra)
    except OSError:
        return ra == rb
    if not stat.S_ISREG(st.st_mode):
        return False
    try:
        return ra == rb or os.path.samefile(ra, rb)
    except OSError:
        return False


class GuardedOutput:
    """Standard output for data and reports (O3): a write that fails (a full disk, `> /dev/full`, an
    I/O error) is a UsageError naming standard output, never a crash; a reader that closed the pipe
    is still BrokenPipeError (`| head`: nothing to report)."""

    def __init__(self, stream, *, closed: bool = False) -> None:
        self._stream = stream
        self._closed = closed  # the process was started with stdout closed (`>&-`)

    def __getattr__(self, name: str):
        return getattr(self._stream, name)

    @property
    def buffer(self) -> "GuardedOutput":
        return GuardedOutput(self._stream.buffer, closed=self._closed)

    def write(self, data):
        return self._guard(self._stream.write, data)

    def flush(self) -> None:
        if not self._closed:  # (nothing was written to a closed one)
            self._guard(self._stream.flush)

    def _guard(self, act, *args):
        done = "what the command did before is not undone (`tui-sync runs` lists runs)"
        if self._closed:
            raise UsageError("cannot write the output: standard output is closed", where="standard output",
                             hint=f"run it with its output sent to a file, a pipe or /dev/null; {done}")
        try:
            return act(*args)
        except BrokenPipeError:
            raise
        except OSError as e:
            raise UsageError(f"cannot write the output: {e.strerror or e}", where="standard output",
                             hint=f"send it where there is room (another file or disk), or to a pipe; {done}"
                             ) from None


NEARLY_FULL = 1 << 20


def disk_nearly_full(folder: Path) -> bool:
    """Less than NEARLY_FULL bytes free on the disk that holds `folder` (or its nearest existing
    parent). SQLite then fails with "disk I/O error" (it cannot grow its shared-memory file), which
    by itself says nothing about the cause."""
    for place in (Path(folder), *Path(folder).parents):
        try:
            return shutil.disk_usage(place).free < NEARLY_FULL
        except OSError:
            continue
    return False


def _unwritable(path: Path, what: str, e: OSError) -> UsageError:
    return UsageError(f"cannot write {what}: {e.strerror or e}", where=str(path),
                      hint="check that the folder exists, is writable and its disk has space, or name another file")


__all__ = ["PRIVATE_DIR", "PRIVATE_FILE", "create_private", "disk_nearly_full", "open_private", "private_dir", "write_output"]
