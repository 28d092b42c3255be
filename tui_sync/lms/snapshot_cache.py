"""The embedded LMS's snapshot cache: the users frame of a large snapshot, kept beside the
database as `<database>.snapshot-v2-<token hex>.arrow`, named by the database's token
(`frame_cache`: every write transaction of `EmbeddedLMS` renews it;
`embedded_schema.TOKEN_TRIGGERS` clear it for any other writer).

v2: the columns of `embedded_frames.users_frame`, stored as `frame_cache` codes them.
A v1 file (the same columns as text, LZ4) is not read; the next cache written removes it.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path

import polars as pl

from ..frame_cache import CACHE_MIN_ROWS, cache_file, read_cached, read_token, write_cached
from .base import CUSTOM_PREFIX, USER_SCHEMA
from .embedded_schema import TOKEN_TABLE

SNAPSHOT_CACHE_MIN_USERS = CACHE_MIN_ROWS
_INFIX = ".snapshot-v2-"


def cache_path(database: Path, token: bytes) -> Path:
    """The cache file of the database's state that `token` names."""
    return cache_file(database, _INFIX, token)


def snapshot_token(conn: sqlite3.Connection) -> bytes | None:
    """The database's snapshot token; None when it has none (no write since it changed, or an old file)."""
    return read_token(conn, TOKEN_TABLE)


def read_cache(path: Path, conn: sqlite3.Connection) -> pl.DataFrame | None:
    """The cached users frame, or None when there is none or it does not look whole."""
    users = read_cached(path, conn, "users")
    if users is None:
        return None
    schema = users.schema
    if list(schema)[:len(USER_SCHEMA)] != list(USER_SCHEMA) or any(
        dtype != pl.String for dtype in schema.values()
    ) or not all(c.startswith(CUSTOM_PREFIX) for c in list(schema)[len(USER_SCHEMA):]):
        return None
    return users


def write_cache(path: Path, users: pl.DataFrame) -> None:
    """Write the cache atomically and drop older ones (best effort)."""
    write_cached(path, users, _INFIX)
