"""The state folder's plan key (A4): the secret that seals the plans this configuration saves.

`<state>/plan.key` holds 32 random bytes as hex. It is created 0600 from the start (never
chmodded after) and published with a hard link, so two processes creating it at once end
up with one key. It never leaves the state folder: a plan names it only by a fingerprint.
"""
from __future__ import annotations

import os
import secrets
from pathlib import Path

from ..errors import SyncError
from .failures import state_failure

KEY_FILE = "plan.key"
_HEX_LENGTH = 64


class PlanKeyError(SyncError):
    """The plan key cannot be read or created (exit 2)."""


def plan_key(state_dir: Path, *, create: bool) -> bytes | None:
    """The key; None when it does not exist and `create` is false."""
    path = Path(state_dir) / KEY_FILE
    try:
        return _read(path)
    except FileNotFoundError:
        if not create:
            return None
    try:
        state_dir.mkdir(mode=0o700, parents=True, exist_ok=True)
        tmp = path.with_name(f".{KEY_FILE}.{secrets.token_hex(8)}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as out:  # (a file object writes all, or raises: never a key cut short)
                out.write(secrets.token_bytes(32).hex().encode())
                out.flush()
                os.fsync(fd)
            try:
                os.link(tmp, path)  # atomic: a key another process published first wins
            except FileExistsError:
                pass
        finally:
            tmp.unlink(missing_ok=True)
        return _read(path)
    except OSError as exc:  # (a full disk, a read-only folder …: said as any state folder's failure is, O3)
        raise state_failure(exc, path, "create the plan key that seals saved plans", folder=state_dir) from None


def _read(path: Path) -> bytes:
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW)
        try:
            text = os.read(fd, _HEX_LENGTH + 2).strip()
        finally:
            os.close(fd)
    except FileNotFoundError:
        raise
    except OSError as exc:
        raise PlanKeyError(f"cannot read the plan key: {exc.strerror or exc}", where=str(path),
                           hint="it must be a regular file readable by this user (not a link)") from None
    try:
        if len(text) != _HEX_LENGTH:
            raise ValueError
        return bytes.fromhex(text.decode("ascii"))
    except ValueError:
        raise PlanKeyError("the plan key is damaged", where=str(path),
                           hint="move it aside: a new key is made by the next `tui-sync plan --out`; "
                                "plans saved before cannot be applied any more (plan afresh)") from None
