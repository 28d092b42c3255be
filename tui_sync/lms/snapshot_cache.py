"""The embedded LMS's snapshot cache: the users frame of a large snapshot, kept beside the database.

The cache is an Arrow file of the users frame named by the database's *snapshot
token*: a random value that every write transaction of `EmbeddedLMS` replaces
before it commits, and that triggers on the data tables clear (in the same
transaction) whenever anything else writes them (`embedded_schema.TOKEN_TRIGGERS`).
A token read in the snapshot's own read transaction therefore names one committed
state of the tables; a cache file carrying it holds exactly that state's users.
"""
from __future__ import annotations

import glob
import os
import sqlite3
from pathlib import Path

import polars as pl

from .base import CUSTOM_PREFIX, USER_SCHEMA

# The snapshot cache: `<database>.snapshot-v1-<token hex>.arrow` (v1: the layout of `embedded_frames.users_frame`).
SNAPSHOT_CACHE_MIN_USERS = 20_000  # smaller snapshots read fast enough; they leave no file behind
_CACHE_INFIX = ".snapshot-v1-"


def cache_path(database: Path, token: bytes) -> Path:
    """The cache file of the database's state that `token` names."""
    return database.with_name(f"{database.name}{_CACHE_INFIX}{token.hex()}.arrow")


def snapshot_token(conn: sqlite3.Connection) -> bytes | None:
    """The database's snapshot token; None when it has none (no write since it changed, or an old file)."""
    try:
        row = conn.execute("SELECT token FROM snapshot_state WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a database that predates the token
        return None
    token = row[0] if row else None
    return bytes(token) if isinstance(token, bytes) and len(token) == 16 else None


def read_cache(path: Path, conn: sqlite3.Connection) -> pl.DataFrame | None:
    """The cached users frame, or None when there is none or it does not look whole."""
    try:
        if not path.is_file():
            return None
        users = pl.read_ipc(path)
    except Exception:  # unreadable or damaged: read the database instead
        return None
    schema = users.schema
    if list(schema)[:len(USER_SCHEMA)] != list(USER_SCHEMA) or any(
        dtype != pl.String for dtype in schema.values()
    ) or not all(c.startswith(CUSTOM_PREFIX) for c in list(schema)[len(USER_SCHEMA):]):
        return None
    if users.height != conn.execute("SELECT count(*) FROM users").fetchone()[0]:
        return None
    return users


def write_cache(path: Path, users: pl.DataFrame) -> None:
    """Write the cache atomically (a reader sees a whole file or none), and drop older ones. Best effort:
    a folder that cannot be written only means no cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        users.write_ipc(tmp, compression="lz4")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        prefix = path.name[:path.name.index(_CACHE_INFIX) + len(_CACHE_INFIX)]
        for old in path.parent.glob(glob.escape(prefix) + "*.arrow"):
            if old.name != path.name:
                old.unlink(missing_ok=True)
    except Exception:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
