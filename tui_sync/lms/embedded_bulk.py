"""Set-based SQL for apply's chunks on the embedded LMS (A2 at wave granularity): a chunk's users
read in one query per kind of key, creates inserted in one statement, updates in one statement
per shape of change. The caller holds the transaction; these only read and write."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

USER_COLUMNS = ("id, login, email, first_name, last_name, department_id, status,"
                " sub_mode, sub_id, cosub_mode, cosub_id, phone, job_title")
_INSERT_COLUMNS = ("login, login_ci, email, email_ci, first_name, last_name, department_id, status,"
                   " phone, job_title")
_PART = 500  # values per IN (...): well under SQLite's limit of bound parameters


def _parts(values: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(values), _PART):
        yield values[i:i + _PART]


def _marks(values: Sequence[Any]) -> str:
    return ", ".join("?" * len(values))


def user_rows(conn: sqlite3.Connection, ids: Sequence[int], logins: Sequence[str], emails: Sequence[str],
              ) -> tuple[dict[int, tuple], dict[int, dict[str, str]]]:
    """The users with any of these ids, login_ci or email_ci values (USER_COLUMNS rows by id),
    and their custom fields by id."""
    rows: dict[int, tuple] = {}
    for column, values in (("id", ids), ("login_ci", logins), ("email_ci", emails)):
        for part in _parts(values):
            rows.update((r[0], r) for r in conn.execute(
                f"SELECT {USER_COLUMNS} FROM users WHERE {column} IN ({_marks(part)})", part))
    custom: dict[int, dict[str, str]] = {}
    for part in _parts(list(rows)):
        for uid, name, value in conn.execute(
                f"SELECT user_id, name, value FROM user_fields WHERE user_id IN ({_marks(part)}) ORDER BY name", part):
            custom.setdefault(uid, {})[name] = value
    return rows, custom


def missing(conn: sqlite3.Connection, table: str, ids: Iterable[int]) -> set[int]:
    """Which of these ids `table` does not hold."""
    wanted = sorted(set(ids))
    found: set[int] = set()
    for part in _parts(wanted):
        found.update(r[0] for r in conn.execute(f"SELECT id FROM {table} WHERE id IN ({_marks(part)})", part))
    return set(wanted) - found


def insert_users(conn: sqlite3.Connection, rows: list[tuple], fields: list[list[tuple[str, str]]]) -> list[int]:
    """Insert users (rows in _INSERT_COLUMNS order) and their custom fields; their new ids, in order.
    Ids only grow (AUTOINCREMENT), so the new rows are those above the largest id before."""
    before = conn.execute("SELECT coalesce(max(id), 0) FROM users").fetchone()[0]
    conn.executemany(f"INSERT INTO users ({_INSERT_COLUMNS}) VALUES ({_marks(rows[0])})", rows)
    by_login = dict(conn.execute("SELECT login_ci, id FROM users WHERE id > ?", (before,)))
    new = [by_login[r[1]] for r in rows]
    conn.executemany("INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)",
                     [(uid, name, value) for uid, pairs in zip(new, fields) for name, value in pairs])
    return new


def update_users(conn: sqlite3.Connection, sets: list[tuple[int, dict[str, Any]]],
                 field_set: list[tuple[int, str, str]], field_clear: list[tuple[int, str]]) -> None:
    """Column updates, one statement per set of columns; custom fields set and cleared."""
    shapes: dict[tuple[str, ...], list[tuple]] = {}
    for uid, columns in sets:
        if columns:
            shapes.setdefault(tuple(columns), []).append((*columns.values(), uid))
    for columns, rows in shapes.items():
        conn.executemany(f"UPDATE users SET {', '.join(c + ' = ?' for c in columns)} WHERE id = ?", rows)
    if field_set:
        conn.executemany("INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)"
                         " ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value", field_set)
    if field_clear:
        conn.executemany("DELETE FROM user_fields WHERE user_id = ? AND name = ?", field_clear)
