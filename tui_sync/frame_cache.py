"""Arrow copies of large frames read from SQLite, named by a *token* of the database's state.

Used for the embedded LMS's users (`lms/snapshot_cache.py`) and the ledger's users
(`state/ledger.py`): both are read on every plan, and a million rows take SQLite
far longer to produce than an Arrow file takes to load.

The token is a random value in a one-row table. The owner's write transactions
replace it before they commit, and triggers on the watched tables clear it (in
the same transaction) whenever anything else writes them, such as a person with
the sqlite3 shell. A token read in a reader's own transaction therefore names one
committed state of the tables, and a cache file carrying it holds exactly that
state's rows. No token (cleared, or a database older than the token) means no cache.

The file is uncompressed Arrow IPC, with each text column of few distinct values
(`CODE_WHEN`) stored as UInt positions into its dictionary, the dictionaries in one
last list column (`DICTIONARIES`: row k holds column k's, null for a column stored
as it is). Reading is the cost that counts (every plan, on the same cores as the
sheet): polars checks every string it reads (UTF-8, view bounds), and a million
users hold sixteen million of them; a dictionary's few thousand are checked once
and a gather shares them. Measured on 1M users x 16 columns (bench/plan_scale.py's
organisation), CPU s and peak resident MB of a read alone: LZ4 56 MB file 0.31 s,
417 MB; uncompressed 295 MB, 0.21 s, 643 MB; coded 156 MB, 0.13 s, 390 MB; coded
with LZ4 41 MB but 0.18 s, which is why the file is not compressed. A read that
fails any check (not Arrow, rows or columns not as expected, a dictionary that
does not fit its column or a position past its end, text that is not UTF-8) is no
cache, and so is a file of more than one record batch (an earlier writer's: joining its batches
into one chunk per column, as the planner needs them, copied every column on each read; it is
written anew). Like the database beside it, the file has no checksum (LZ4's went with the
compression): it is only ever published whole (`write_cached`), and damage the
disk does inside valid text is the file system's to catch.
"""
from __future__ import annotations

import glob
import os
import re
import sqlite3
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

import polars as pl

from .files import open_private

CACHE_MIN_ROWS = 20_000  # smaller frames read fast enough; they leave no file behind
ABANDONED_AFTER = 600.0  # seconds: an unfinished cache file this old has no writer any more
CODE_WHEN = 16  # a text column with at most one distinct value for this many rows is stored coded
DICTIONARIES = ":dictionaries"  # the last column of a file with coded columns
_CODES = (pl.UInt8, pl.UInt16, pl.UInt32)


def token_triggers(table: str, watched: Sequence[str], prefix: str) -> dict[str, str]:
    """Trigger name -> its (idempotent) CREATE: any write of a watched table clears the token."""
    return {
        f"{prefix}_{t}_{op.lower()}":
            f"CREATE TRIGGER IF NOT EXISTS {prefix}_{t}_{op.lower()} AFTER {op} ON {t}"
            f" BEGIN UPDATE {table} SET token = NULL WHERE token IS NOT NULL; END"
        for t in watched for op in ("INSERT", "UPDATE", "DELETE")
    }


def token_schema(table: str, triggers: dict[str, str]) -> tuple[str, ...]:
    """The statements (idempotent) that create the token's table and its triggers."""
    return (
        f"CREATE TABLE IF NOT EXISTS {table} (id INTEGER PRIMARY KEY CHECK (id = 1), token BLOB)",
        f"INSERT OR IGNORE INTO {table} (id, token) VALUES (1, NULL)",
        *triggers.values(),
    )


PAUSE_TRIGGERS_FROM = 256  # rows: below it, dropping and re-creating the triggers costs more than they do


@contextmanager
def triggers_paused(conn: sqlite3.Connection, triggers: dict[str, str], rows: int) -> Iterator[None]:
    """Around a set-based write of `rows` rows inside the owner's write transaction, which renews the
    token when it commits: the token's per-row triggers (`token_triggers`) are dropped and created
    again before the transaction ends, when the write is large enough for that to pay. They cost a
    third of a bulk insert; SQLite's schema changes are transactional, so no other connection ever
    sees the tables without them, and a write that fails is rolled back with the drop (the owner's
    transaction rolls back on any error)."""
    if rows < PAUSE_TRIGGERS_FROM:
        yield
        return
    for name in triggers:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    yield
    for statement in triggers.values():
        conn.execute(statement)


def renew_token(conn: sqlite3.Connection, table: str) -> None:
    """A new state: a new token, committed with it (inside the owner's write transaction)."""
    conn.execute(f"UPDATE {table} SET token = randomblob(16) WHERE id = 1")


def read_token(conn: sqlite3.Connection, table: str) -> bytes | None:
    """The current token; None when there is none (cleared, or a database that predates the token)."""
    try:
        row = conn.execute(f"SELECT token FROM {table} WHERE id = 1").fetchone()
    except sqlite3.OperationalError:
        return None
    token = row[0] if row else None
    return bytes(token) if isinstance(token, bytes) and len(token) == 16 else None


def cache_file(database: Path, infix: str, token: bytes) -> Path:
    """`<database><infix><token hex>.arrow`, beside the database."""
    return database.with_name(f"{database.name}{infix}{token.hex()}.arrow")


def read_cached(path: Path, conn: sqlite3.Connection, table: str) -> pl.DataFrame | None:
    """The cached frame, or None when there is none, it cannot be read, its coded columns do not decode or
    it does not hold as many rows as `table` (then the database is read)."""
    try:
        stored = pl.read_ipc(path) if path.is_file() else None
        # one record batch, as `write_cached` writes it: one chunk per column, as the planner needs them
        # (an earlier writer's file of several is read no more, and written anew)
        frame = _decoded(stored) if stored is not None and stored.n_chunks() == 1 else None
    except Exception:  # damaged or unreadable: read the database instead
        return None
    if frame is None or frame.height != conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]:
        return None
    return frame


def _coded(frame: pl.DataFrame) -> pl.DataFrame:
    """The frame as the file holds it: a text column with few distinct values as positions in its dictionary
    (module docstring). A frame with nothing to code, or fewer rows than columns, is kept as it is."""
    if frame.height < max(frame.width, CODE_WHEN):
        return frame
    columns: list[pl.Series] = []
    dictionaries: list[pl.Series | None] = []
    for column in frame.iter_columns():
        dictionary = None
        if column.dtype == pl.String and column.approx_n_unique() * CODE_WHEN <= frame.height:
            dictionary = column.drop_nulls().unique()
            column = column.cast(pl.Enum(dictionary)).to_physical().alias(column.name)
        columns.append(column)
        dictionaries.append(dictionary)
    if all(d is None for d in dictionaries):
        return frame
    listed = pl.Series(DICTIONARIES, dictionaries, dtype=pl.List(pl.String))
    return pl.DataFrame([*columns, listed.extend_constant(None, frame.height - frame.width)])


def _decoded(stored: pl.DataFrame) -> pl.DataFrame:
    """The frame `_coded` stored; raises when its dictionaries are not text or do not fit their columns."""
    if not stored.width or stored.columns[-1] != DICTIONARIES:
        return stored
    listed = stored.get_column(DICTIONARIES)
    if listed.dtype != pl.List(pl.String):
        raise ValueError("the dictionaries are not text")
    columns = []
    for k, column in enumerate(stored.drop(DICTIONARIES).iter_columns()):
        dictionary = listed[k]
        if dictionary is not None:
            if column.dtype not in _CODES:
                raise ValueError(f"column {column.name!r} has a dictionary but no codes")
            column = dictionary.gather(column).alias(column.name)  # (a position past the end raises)
        columns.append(column)
    return pl.DataFrame(columns)


def write_cached(path: Path, frame: pl.DataFrame, infix: str) -> None:
    """Write the cache atomically (a reader sees a whole file or none) and drop older ones of the same
    kind. Best effort: a folder that cannot be written only means no cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        # created 0600: the frame holds logins and personal data (O2)
        with open(open_private(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL), "wb") as out:
            # (one record batch: read back as one chunk per column, with no copy to join batches)
            _coded(frame).write_ipc(out, compression="uncompressed", record_batch_size=max(frame.height, 1))
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
        prefix = path.name[:path.name.index(infix) + len(infix)]
        # older states' files, and those of earlier layouts: `<database><kind>-v<n>-<token>.arrow`
        kind = re.sub(r"-v\d+-$", "-v", prefix)
        for old in path.parent.glob(glob.escape(kind) + "*.arrow"):
            if old.name != path.name and re.fullmatch(re.escape(kind) + r"(\d+-)?[0-9a-f]*\.arrow", old.name):
                old.unlink(missing_ok=True)
        # and what a writer stopped halfway left (a plan interrupted at once, a killed process)
        abandoned = time.time() - ABANDONED_AFTER
        for old in path.parent.glob("." + glob.escape(prefix) + "*.tmp"):
            if old.stat().st_mtime < abandoned:
                old.unlink(missing_ok=True)
    except Exception:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass
