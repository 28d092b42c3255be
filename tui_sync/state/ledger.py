"""The ledger (DESIGN L1): which LMS departments and users this sync manages, with their unique keys.

It lives in `<state_dir>/state.sqlite` (tables `ledger_departments` and
`ledger_users`), one per sync configuration. Reading never creates the file or
the folder: `plan` and `check` write nothing to the ledger. Keys are stored as
given; the planner compares them case-insensitively.

A large ledger's users are also kept as an Arrow file beside it, named by the
ledger's token (`frame_cache`): every write here renews the token, triggers clear
it for any other writer, and a plan reads the file instead of a million rows.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

import polars as pl

from ..files import create_private, private_dir
from ..frame_cache import (
    CACHE_MIN_ROWS,
    cache_file,
    read_cached,
    read_token,
    renew_token,
    token_schema,
    token_triggers,
    triggers_paused,
    write_cached,
)
from ..sqlite_frames import read_columns
from .failures import StateError, check_folder, reading_uri, state_failure

STATE_FILE = "state.sqlite"
LEDGER_SCHEMA: dict[str, type[pl.DataType]] = {"lms_id": pl.String, "key": pl.String}
_TABLES = {"departments": "ledger_departments", "users": "ledger_users"}
BUSY_TIMEOUT_MS = 10_000
_TOKEN_TABLE = "ledger_state"
_TOKEN_TRIGGERS = token_triggers(_TOKEN_TABLE, tuple(_TABLES.values()), "ledger_stale")
_TOKEN_SCHEMA = token_schema(_TOKEN_TABLE, _TOKEN_TRIGGERS)
_USERS_CACHE = ".ledger-users-v1-"  # `state.sqlite.ledger-users-v1-<token hex>.arrow`


LedgerError = StateError  # the state file could not be read or written (O3)


class Ledger:
    def __init__(self, state_dir: Path) -> None:
        self.state_dir = Path(state_dir)
        self.path = self.state_dir / STATE_FILE

    # ------------------------------------------------------------ reading

    def departments(self) -> pl.DataFrame:
        """Managed departments: `lms_id`, `key` (null when no unique key is used)."""
        return self._read("departments")

    def users(self) -> pl.DataFrame:
        """Managed users: `lms_id`, `key` (null when no unique key is used)."""
        return self._read("users")

    def _read(self, entity: str) -> pl.DataFrame:
        check_folder(self.state_dir)  # a file there is not "nothing managed yet" (O3)
        if not self.path.exists():
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        table = _TABLES[entity]
        try:
            # mode=rw never creates the file, and (unlike mode=ro) lets the last connection tidy
            # up the WAL files on close. An absent table (a state file that other parts of
            # tui_sync wrote first) is an empty ledger.
            with closing(sqlite3.connect(reading_uri(self.path), uri=True)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("BEGIN")  # one read transaction: the token and the rows of one state
                exists = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).fetchone()
                frame = self._rows(conn, table) if exists else None
        except (sqlite3.Error, OSError) as exc:
            raise state_failure(exc, self.path, "read the ledger", self.state_dir) from exc
        return frame if frame is not None else pl.DataFrame(schema=LEDGER_SCHEMA)

    def _rows(self, conn: sqlite3.Connection, table: str) -> pl.DataFrame:
        token = read_token(conn, _TOKEN_TABLE) if table == _TABLES["users"] else None
        cache = cache_file(self.path, _USERS_CACHE, token) if token is not None else None
        if cache is not None:
            frame = read_cached(cache, conn, table)
            if frame is not None and frame.schema == LEDGER_SCHEMA:
                return frame
        frame = read_columns(conn, f"(SELECT lms_id, key FROM {table} ORDER BY rowid)",
                             (("lms_id", "lms_id", pl.String), ("key", "key", pl.String)))
        if cache is not None and frame.height >= CACHE_MIN_ROWS:
            write_cached(cache, frame, _USERS_CACHE)
        return frame

    def warm(self) -> None:
        """After writes: rebuild the users' cache now, so that the next plan reads it (a large ledger
        only). Best effort: the writes are done; a ledger that cannot be read now is reported by the
        next plan."""
        try:
            self.users()
        except LedgerError:
            pass

    # ------------------------------------------------------------ writing

    def record(self, departments: Mapping[str, str | None], users: Mapping[str, str | None]) -> None:
        """Record LMS ids as managed, each with the unique key the plan used (None = none).

        An id already in the ledger takes the new key. One transaction for both.
        """
        with self._writing() as conn, triggers_paused(conn, _TOKEN_TRIGGERS, len(departments) + len(users)):
            for entity, entries in (("departments", departments), ("users", users)):
                conn.executemany(
                    f"INSERT INTO {_TABLES[entity]} (lms_id, key) VALUES (?, ?)"
                    " ON CONFLICT (lms_id) DO UPDATE SET key = excluded.key",
                    ((str(i), k) for i, k in entries.items()),
                )

    def drop(self, departments: Iterable[str] = (), users: Iterable[str] = ()) -> None:
        """Forget LMS ids (objects that disappeared from the LMS)."""
        departments, users = list(departments), list(users)
        if not (departments or users) or not self.path.exists():
            return
        with self._writing() as conn:
            for entity, ids in (("departments", departments), ("users", users)):
                conn.executemany(f"DELETE FROM {_TABLES[entity]} WHERE lms_id = ?", ((str(i),) for i in ids))

    @contextmanager
    def _writing(self) -> Iterator[sqlite3.Connection]:
        try:
            private_dir(self.state_dir)
            create_private(self.path)  # 0600, and so are its -wal and -shm files (O2)
            with closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for table in _TABLES.values():
                        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (lms_id TEXT PRIMARY KEY, key TEXT)")
                    for statement in _TOKEN_SCHEMA:
                        conn.execute(statement)
                    before = conn.total_changes
                    yield conn
                    if conn.total_changes != before:
                        renew_token(conn, _TOKEN_TABLE)
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise state_failure(exc, self.path, "write the ledger", self.state_dir) from exc
