"""The ledger (DESIGN L1): which LMS departments and users this sync manages, with their unique keys.

It lives in `<state_dir>/state.sqlite` (tables `ledger_departments` and
`ledger_users`), one per sync configuration. Reading never creates the file or
the folder: `plan` and `check` write nothing. Keys are stored as given; the
planner compares them case-insensitively.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator, Mapping
from contextlib import closing, contextmanager
from pathlib import Path

import polars as pl

from ..errors import SyncError
from ..sqlite_frames import read_columns

STATE_FILE = "state.sqlite"
LEDGER_SCHEMA: dict[str, type[pl.DataType]] = {"lms_id": pl.String, "key": pl.String}
_TABLES = {"departments": "ledger_departments", "users": "ledger_users"}
BUSY_TIMEOUT_MS = 10_000


class LedgerError(SyncError):
    """The state file could not be read or written."""


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
        if not self.path.exists():
            return pl.DataFrame(schema=LEDGER_SCHEMA)
        table = _TABLES[entity]
        try:
            # mode=rw never creates the file, and (unlike mode=ro) lets the last connection tidy
            # up the WAL files on close. An absent table (a state file that other parts of
            # tui_sync wrote first) is an empty ledger.
            with closing(sqlite3.connect(f"{self.path.resolve().as_uri()}?mode=rw", uri=True)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                exists = conn.execute(
                    "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = ?", (table,)
                ).fetchone()
                frame = read_columns(conn, f"(SELECT lms_id, key FROM {table} ORDER BY rowid)",
                                     (("lms_id", "lms_id", pl.String), ("key", "key", pl.String))) if exists else None
        except sqlite3.Error as exc:
            raise LedgerError(
                f"cannot read the ledger: {exc}", where=str(self.path),
                hint="check the state folder's permissions; if the file is damaged, move it aside (the next sync re-learns what it manages by code, login and email)",
            ) from exc
        return frame if frame is not None else pl.DataFrame(schema=LEDGER_SCHEMA)

    # ------------------------------------------------------------ writing

    def record(self, departments: Mapping[str, str | None], users: Mapping[str, str | None]) -> None:
        """Record LMS ids as managed, each with the unique key the plan used (None = none).

        An id already in the ledger takes the new key. One transaction for both.
        """
        with self._writing() as conn:
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
            self.state_dir.mkdir(parents=True, exist_ok=True)
            with closing(sqlite3.connect(self.path, isolation_level=None)) as conn:
                conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
                conn.execute("PRAGMA journal_mode = WAL")
                conn.execute("BEGIN IMMEDIATE")
                try:
                    for table in _TABLES.values():
                        conn.execute(f"CREATE TABLE IF NOT EXISTS {table} (lms_id TEXT PRIMARY KEY, key TEXT)")
                    yield conn
                except BaseException:
                    conn.execute("ROLLBACK")
                    raise
                conn.execute("COMMIT")
        except (sqlite3.Error, OSError) as exc:
            raise LedgerError(
                f"cannot write the ledger: {exc}", where=str(self.path),
                hint="check that the state folder is writable and that no other tui-sync holds it",
            ) from exc
