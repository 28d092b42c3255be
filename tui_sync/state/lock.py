"""One sync per configuration at a time (S1, issue 3 §9).

An advisory `flock` on `<state>/sync.lock`: the kernel releases it when the
holder dies, so a lock left by a dead process is recovered by itself. The
file's text says who holds it, for the message a second sync gets.
"""
from __future__ import annotations

import fcntl
import json
import os
from datetime import datetime, timezone
from pathlib import Path
from types import TracebackType

from ..errors import SyncError, Exit


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
            return json.loads(self.path.read_text() or "null")
        except (OSError, ValueError):
            return None

    def acquire(self) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            os.close(fd)
            h = self.holder() or {}
            raise self.error(
                f"{self.busy[0]} (pid {h.get('pid', '?')}, since {h.get('since', '?')}, {h.get('what', 'sync')})",
                where=str(self.path.parent.parent), hint=self.busy[1],
            ) from None
        os.ftruncate(fd, 0)
        os.write(fd, json.dumps({"pid": os.getpid(), "what": self.what,
                                 "since": datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")}).encode())
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
