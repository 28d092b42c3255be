"""The embedded LMS's SQLite schema: its tables, their version, and the snapshot token's table.

Case-insensitive uniqueness uses shadow columns (`code_ci`, `login_ci`,
`email_ci`) lowered in Python (`ci`) rather than SQLite's `lower()`, which folds
ASCII only: `Иван` and `иван` must collide too, as they do for the planner.
"""
from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from typing import Any

from ..errors import LMSError
from ..frame_cache import token_schema, token_triggers, triggers_paused
from ..model import Status
from . import embedded_journal

SCHEMA_VERSION = 2  # 2: the supervisor links are indexed (_LINK_INDEXES)
ROOT_ID = 1  # the root department's id in every database this module creates
ROOT_NAME = "Root"

STATUSES = frozenset(s.value for s in Status)

_SCHEMA = f"""
CREATE TABLE departments (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    code TEXT,
    code_ci TEXT,
    name TEXT NOT NULL,
    parent_id INTEGER REFERENCES departments(id),
    is_root INTEGER NOT NULL DEFAULT 0 CHECK (is_root IN (0, 1)),
    supervisor_id INTEGER REFERENCES users(id),
    co_supervisor_id INTEGER REFERENCES users(id),
    CHECK (is_root = 1 OR (code IS NOT NULL AND parent_id IS NOT NULL))
);
CREATE UNIQUE INDEX departments_code_ci ON departments(code_ci) WHERE code_ci IS NOT NULL;
CREATE UNIQUE INDEX departments_one_root ON departments(is_root) WHERE is_root = 1;
CREATE INDEX departments_parent ON departments(parent_id);

CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    login TEXT NOT NULL,
    login_ci TEXT NOT NULL,
    email TEXT NOT NULL,
    email_ci TEXT NOT NULL,
    first_name TEXT,
    last_name TEXT,
    department_id INTEGER NOT NULL REFERENCES departments(id),
    status TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'inactive', 'terminated')),
    sub_mode TEXT NOT NULL DEFAULT 'inherit' CHECK (sub_mode IN ('inherit', 'manual', 'none')),
    sub_id INTEGER REFERENCES users(id),
    cosub_mode TEXT NOT NULL DEFAULT 'inherit' CHECK (cosub_mode IN ('inherit', 'manual', 'none')),
    cosub_id INTEGER REFERENCES users(id),
    phone TEXT,
    job_title TEXT
);
CREATE UNIQUE INDEX users_login_ci ON users(login_ci);
CREATE UNIQUE INDEX users_email_ci ON users(email_ci);
CREATE INDEX users_department ON users(department_id);

CREATE TABLE user_fields (
    user_id INTEGER NOT NULL REFERENCES users(id),
    name TEXT NOT NULL,
    value TEXT NOT NULL,
    PRIMARY KEY (user_id, name)
) WITHOUT ROWID;

INSERT INTO departments (id, code, code_ci, name, parent_id, is_root) VALUES ({ROOT_ID}, NULL, NULL, '{ROOT_NAME}', NULL, 1);
"""

# Every user written or removed makes SQLite look for the rows that point to it (foreign keys,
# deferred ones too): without these, a load or a removal reads the whole table once per user.
_LINK_INDEXES = (
    "CREATE INDEX IF NOT EXISTS users_sub ON users(sub_id) WHERE sub_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS users_cosub ON users(cosub_id) WHERE cosub_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS departments_supervisor ON departments(supervisor_id) WHERE supervisor_id IS NOT NULL",
    "CREATE INDEX IF NOT EXISTS departments_co_supervisor ON departments(co_supervisor_id)"
    " WHERE co_supervisor_id IS NOT NULL",
)

# The snapshot token (see `snapshot_cache`). Added to databases of schema version 1
# that predate it by their first write transaction (`upgrade_schema`); until then they have no
# token (no cache).
TOKEN_TABLE = "snapshot_state"
TOKEN_TRIGGERS = token_triggers(TOKEN_TABLE, ("departments", "users", "user_fields"), "snapshot_stale")
_TOKEN_SCHEMA = token_schema(TOKEN_TABLE, TOKEN_TRIGGERS)


def ensure_schema(conn: sqlite3.Connection, where: str) -> None:
    """Create the tables in a new file; refuse one that holds other tables or a newer schema."""
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    if version == 0:
        has_tables = conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE name IN ('departments', 'users')"
        ).fetchone()[0]
        if has_tables:
            raise LMSError(
                "this SQLite file holds other tables named departments/users; it is not an embedded LMS",
                where=where,
            )
        conn.execute("PRAGMA journal_mode = WAL")
        conn.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\n{';'.join((*_LINK_INDEXES, *_TOKEN_SCHEMA))};\n"
                           f"PRAGMA user_version = {SCHEMA_VERSION};\nCOMMIT;")
    elif version > SCHEMA_VERSION:
        raise LMSError(
            f"the embedded LMS database has schema version {version}; this tui_sync knows {SCHEMA_VERSION}",
            where=where, hint="upgrade tui_sync",
        )


def upgrade_schema(conn: sqlite3.Connection) -> None:
    """Bring a database of an older schema version up to this one: the snapshot token's table and
    triggers, apply's journal table, the link indexes (inside a write transaction; a no-op on a
    current database)."""
    for statement in (*_TOKEN_SCHEMA, *embedded_journal.SCHEMA):
        conn.execute(statement)
    if conn.execute("PRAGMA user_version").fetchone()[0] < SCHEMA_VERSION:
        for statement in _LINK_INDEXES:
            conn.execute(statement)
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


def token_triggers_paused(conn: sqlite3.Connection, rows: int) -> AbstractContextManager[None]:
    """Around a set-based write of `rows` rows inside one of the embedded LMS's own write transactions
    (which renew the token when they commit): the snapshot token's per-row triggers, paused when that
    pays (`frame_cache.triggers_paused`)."""
    return triggers_paused(conn, TOKEN_TRIGGERS, rows)


def ci(value: str) -> str:
    """The form compared for uniqueness: trimmed, lower case."""
    return value.strip().lower()


def blank_none(value: Any) -> str | None:
    """Optional text: a blank value is no value."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None
