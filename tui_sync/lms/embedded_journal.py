"""Apply's journal inside the embedded LMS's own database (A2): each chunk's outcomes are written in
the transaction that writes its changes, so that the two commit together or not at all.

The run history (`state/runs.py`, in the state folder's own SQLite file) takes the rows in when a
run ends, is interrupted or resumes, and the rows are then dropped here. Two SQLite files cannot
share one atomic transaction (an ATTACHed database in WAL mode commits on its own), hence the
journal lives where the writes are.

The table is an append-only log (an outcome that supersedes another, `linking` then `applied`,
is a later row): appending costs a fifth of keeping one row per change. Rows carry a run key that
names one run of one state folder (its plan copy's random name), so configurations that share one
LMS file never read each other's journal. The table is additive: a database without it (made
before it existed) gets it in its first write transaction, and an older tui_sync ignores it.
"""
from __future__ import annotations

import sqlite3
from datetime import datetime, timezone

from .base import JournalRow

TABLE = "apply_log"
SCHEMA = (
    f"CREATE TABLE IF NOT EXISTS {TABLE} (run TEXT NOT NULL, change_id TEXT NOT NULL, outcome TEXT NOT NULL,"
    " error TEXT, lms_id TEXT, at TEXT NOT NULL)",
)


def write(conn: sqlite3.Connection, run: str, rows: list[JournalRow]) -> int:
    """Append outcomes. Returns the rows changed, which are no change of the LMS's contents."""
    at = datetime.now(timezone.utc).astimezone().isoformat(timespec="seconds")
    before = conn.total_changes
    conn.executemany(f"INSERT INTO {TABLE} (run, change_id, outcome, error, lms_id, at) VALUES (?, ?, ?, ?, ?, ?)",
                     [(run, c, o, e, i, at) for c, o, e, i in rows])
    return conn.total_changes - before


def read(conn: sqlite3.Connection, run: str) -> list[tuple[str, str, str | None, str | None, str]]:
    """(change id, outcome, error, LMS id, time) recorded for `run`, oldest first (a later row of a
    change supersedes an earlier one); none in a database without the table."""
    try:
        return conn.execute(f"SELECT change_id, outcome, error, lms_id, at FROM {TABLE} WHERE run = ? ORDER BY rowid",
                            (run,)).fetchall()
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return []
        raise


def forget(conn: sqlite3.Connection, run: str) -> int:
    """Drop `run`'s rows; returns the rows changed (no change of the LMS's contents either)."""
    before = conn.total_changes
    conn.execute(f"DELETE FROM {TABLE} WHERE run = ?", (run,))
    return conn.total_changes - before
