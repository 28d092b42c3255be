"""One sync per configuration at a time (S1, A2: two applies at once could write a change twice).

An advisory `flock` on `<state>/sync.lock`: the kernel releases it when the
holder dies, so a lock left by a dead process is recovered by itself. The
file's text says who holds it (pid, host, since), for the message a second sync gets.
The file is never followed through a symlink (O2): a link there is refused, so
the lock can never truncate another file.
"""
from __future__ import annotations

import errno
import fcntl
import json
import os
import socket
import stat
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from ..errors import Exit, SyncError
from ..files import PRIVATE_FILE, private_dir
from .failures import StateError, check_folder, state_failure


class SyncRunning(SyncError):
    exit_code = Exit.USAGE


class SyncLock:
    """The configuration's sync lock; `name`/`busy` give other one-at-a-time locks
    (the daemon's) the same mechanism with their own file and message."""

    def __init__(self, state_dir: Path, what: str = "sync", *, name: str = "sync.lock",
                 busy: tuple[str, str] | None = None, error: type[SyncError] = SyncRunning):
        self.path = state_dir / name
        self.what = what
        self.busy = busy or ("a sync of this configuration is running",
                             "wait for it to finish; if that process is gone, run the command again")
        self.error = error
        self._fd: int | None = None

    def holder(self) -> dict | None:
        try:
            fd = os.open(self.path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
        except OSError:
            return None
        try:
            data = json.loads(os.read(fd, 4096) or b"null") if stat.S_ISREG(os.fstat(fd).st_mode) else None
            return data if isinstance(data, dict) else None
        except (OSError, ValueError):
            return None
        finally:
            os.close(fd)

    def describe_holder(self) -> str:
        """"pid 123 on host, since …, apply": who holds the lock, as its file says."""
        h = self.holder() or {}
        if not h.get("pid"):  # another program's lock (`flock`), or a holder that could not write its name
            return "its holder is not written in the lock file; `fuser` on it names the process"
        host = f" on {h['host']}" if h.get("host") else ""
        return f"pid {h.get('pid', '?')}{host}, since {h.get('since', '?')}, {h.get('what', 'sync')}"

    def acquire(self) -> None:
        folder = self.path.parent
        try:
            check_folder(folder)
            private_dir(folder)
            # O_NOFOLLOW: a symlink planted at the lock's path is refused, never followed (O2)
            fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC,
                         PRIVATE_FILE)
        except OSError as e:
            if e.errno == errno.ELOOP:
                raise StateError("the lock file is a symbolic link; tui-sync never follows it",
                                 where=str(self.path),
                                 hint=f"remove the link ({self.path}); tui-sync creates the lock file itself"
                                 ) from None
            raise state_failure(e, self.path, f"take the {self.what} lock", folder) from None
        if not stat.S_ISREG(os.fstat(fd).st_mode):
            os.close(fd)
            raise StateError("the lock file is not a regular file", where=str(self.path),
                             hint=f"remove it ({self.path}); tui-sync creates the lock file itself")
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            raise self.error(f"{self.busy[0]} ({self.describe_holder()})",
                             where=str(folder.parent), hint=self.busy[1]) from None
        try:
            os.ftruncate(fd, 0)
            os.write(fd, json.dumps({
                "pid": os.getpid(), "host": socket.gethostname(), "what": self.what,
                "since": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}).encode())
        except OSError as e:  # (a full disk: the lock is still held; who holds it is just not written)
            if e.errno not in (errno.ENOSPC, errno.EDQUOT):
                os.close(fd)
                raise state_failure(e, self.path, f"take the {self.what} lock", folder) from None
        self._fd = fd

    def release(self) -> None:
        if self._fd is not None:
            try:
                os.ftruncate(self._fd, 0)
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            finally:
                os.close(self._fd)
                self._fd = None

    def __enter__(self) -> SyncLock:
        self.acquire()
        return self

    def __exit__(self, et: type[BaseException] | None, e: BaseException | None, tb: TracebackType | None) -> None:
        self.release()
