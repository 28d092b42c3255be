"""What a failure of the state folder means to an operator (O3).

The state folder (`.tui-sync/`) holds the ledger, the run history and saved
plans. A full disk, a read-only or damaged folder, or a path that is a file
where a folder should be each become a `StateError` that says what happened,
where, and what to do — never an OSError or sqlite3 exception.
"""
from __future__ import annotations

import errno
import functools
import os
import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from ..errors import Exit, SyncError
from ..files import disk_nearly_full

F = TypeVar("F", bound=Callable[..., Any])

_FULL = (errno.ENOSPC, errno.EDQUOT, errno.EFBIG)
_READ_ONLY = (errno.EROFS, errno.EACCES, errno.EPERM)
_NOT_A_FOLDER = (errno.EEXIST, errno.ENOTDIR)


class StateError(SyncError):
    """The state folder could not be read or written (exit 3: nothing more was changed)."""

    exit_code = Exit.UNREADABLE


def state_failure(exc: BaseException, where: Path, doing: str, folder: Path | None = None) -> StateError:
    """`exc` (an OSError or sqlite3.Error met while `doing` something with `where`, a file in the
    state folder `folder` (default: its parent) as a StateError naming what, where and what to do."""
    where = Path(where)
    folder = Path(folder) if folder is not None else where.parent
    text = str(exc).lower()
    code = getattr(exc, "errno", None)
    full = StateError(f"the disk is full: cannot {doing}", where=str(where),
                      hint=f"free space on the disk that holds {folder}, then run the command again "
                           "(an interrupted apply is finished by the next `apply` or `apply --resume`)")
    if code in _FULL or "disk is full" in text:
        return full
    if code in _NOT_A_FOLDER or isinstance(exc, (FileExistsError, NotADirectoryError)):
        return StateError(
            f"cannot {doing}: the state folder's path is a file, not a folder", where=str(folder),
            hint=f"move the file {folder} aside, or set state_dir in the config to a folder")
    if code in _READ_ONLY or "readonly" in text or "read-only" in text or (
            "unable to open" in text and folder.is_dir() and not writable(folder)):
        return StateError(
            f"cannot {doing}: the state folder is read-only ({_reason(exc)})", where=str(where),
            hint=f"make {folder} writable for this user (or remount its disk read-write), "
                 "or set state_dir in the config to a writable folder")
    if isinstance(exc, sqlite3.DatabaseError) and any(w in text for w in ("not a database", "malformed", "corrupt")):
        return StateError(
            f"cannot {doing}: the state file is damaged ({_reason(exc)})", where=str(where),
            hint=f"move {where} aside (keep it for the record); the next sync re-learns what it "
                 "manages by code, login and email, but the run history in it is not carried over")
    if disk_nearly_full(folder):  # SQLite says only "disk I/O error" when it cannot grow its files
        return full
    return StateError(f"cannot {doing}: {_reason(exc)}", where=str(where),
                      hint=f"check that {folder} is a folder this user can read and write")


def writable(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


def reading_uri(path: Path) -> str:
    """The SQLite URI to read `path` with: read-write (which lets SQLite tidy its WAL files), or
    read-only and immutable in a folder this process cannot write (a read-only disk): history
    and ledger can still be read there (O3)."""
    uri = Path(path).resolve().as_uri()
    return f"{uri}?mode=rw" if writable(Path(path).parent) else f"{uri}?mode=ro&immutable=1"


def _reason(exc: BaseException) -> str:
    return getattr(exc, "strerror", None) or str(exc) or type(exc).__name__


def guarded(doing: str) -> Callable[[F], F]:
    """A method of an object with a `path` in its `state_dir`: its OSError and sqlite3.Error
    become a `StateError` about `doing`."""
    def wrap(method: F) -> F:
        @functools.wraps(method)
        def inner(self: Any, *args: Any, **kwargs: Any) -> Any:
            try:
                return method(self, *args, **kwargs)
            except (OSError, sqlite3.Error) as exc:
                raise state_failure(exc, self.path, doing, self.state_dir) from exc
        return inner  # type: ignore[return-value]
    return wrap


def check_folder(folder: Path) -> None:
    """Refuse a state folder path that exists and is not a folder (a read would otherwise see an
    empty ledger and plan as if nothing were managed)."""
    if folder.exists() and not folder.is_dir():
        raise state_failure(NotADirectoryError(errno.ENOTDIR, "not a folder"), folder, "use the state folder",
                            folder)


__all__ = ["StateError", "check_folder", "guarded", "reading_uri", "state_failure", "writable"]
