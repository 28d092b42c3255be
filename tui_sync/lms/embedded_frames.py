"""The embedded LMS's tables as the snapshot's polars frames (DEPARTMENT_SCHEMA, USER_SCHEMA)."""
from __future__ import annotations

import sqlite3

import polars as pl

from ..sqlite_frames import read_columns
from .base import CUSTOM_PREFIX, NO_SUPERVISOR

# Snapshot columns: (SQL column, frame column, dtype).
_DEPARTMENT_COLUMNS = (
    ("id", "id", pl.Int64), ("code", "code", pl.String), ("name", "name", pl.String),
    ("parent_id", "parent_id", pl.Int64),
)
_USER_COLUMNS = (
    ("id", "id", pl.Int64), ("login", "login", pl.String), ("email", "email", pl.String),
    ("first_name", "firstName", pl.String), ("last_name", "lastName", pl.String),
    ("department_id", "department_id", pl.Int64), ("status", "status", pl.String),
    ("sub_mode", "sub_mode", pl.String), ("sub_id", "sub_id", pl.Int64),
    ("cosub_mode", "cosub_mode", pl.String), ("cosub_id", "cosub_id", pl.Int64),
    ("phone", "phone", pl.String), ("job_title", "jobTitle", pl.String),
)
_FIELD_COLUMNS = (("user_id", "user_id", pl.Int64), ("name", "name", pl.String), ("value", "value", pl.String))
SNAPSHOT_CHUNK = 200_000  # rows per query: bounds the size of one JSON text (SQLITE_MAX_LENGTH) and peak memory


def read_departments(conn: sqlite3.Connection) -> pl.DataFrame:
    """All departments but the root, as stored."""
    return read_columns(conn, "departments WHERE is_root = 0", _DEPARTMENT_COLUMNS)


def departments_frame(departments: pl.DataFrame, root: int) -> pl.DataFrame:
    """The snapshot's departments (DEPARTMENT_SCHEMA) from the rows of `read_departments`."""
    return departments.select(
        pl.col("id").cast(pl.String), "code", "name", _unless_root("parent_id", root),
    )


def read_users(conn: sqlite3.Connection) -> tuple[pl.DataFrame, pl.DataFrame]:
    """All users (by id) and their custom field values, in chunks of SNAPSHOT_CHUNK users."""
    users: list[pl.DataFrame] = []
    fields: list[pl.DataFrame] = []
    last = 0
    while True:
        lo_hi = conn.execute(
            "SELECT min(id), max(id), count(*) FROM (SELECT id FROM users WHERE id > ? ORDER BY id LIMIT ?)",
            (last, SNAPSHOT_CHUNK),
        ).fetchone()
        if not lo_hi[2]:
            break
        lo, hi, _ = lo_hi
        users.append(read_columns(
            conn, "(SELECT * FROM users WHERE id BETWEEN ? AND ? ORDER BY id)", _USER_COLUMNS, (lo, hi)))
        fields.append(read_columns(  # (in the primary key's order, as a rule: `users_frame` then merges)
            conn, "user_fields WHERE user_id BETWEEN ? AND ?", _FIELD_COLUMNS, (lo, hi)))
        last = hi
    empty = {name: dtype for _, name, dtype in _USER_COLUMNS}
    return (
        pl.concat(users) if users else pl.DataFrame(schema=empty),
        pl.concat(fields) if fields else pl.DataFrame(schema={n: d for _, n, d in _FIELD_COLUMNS}),
    )


def users_frame(users: pl.DataFrame, fields: pl.DataFrame, root: int) -> pl.DataFrame:
    """The snapshot's users (USER_SCHEMA, then the custom fields) from the rows of `users` and `user_fields`."""
    custom_columns: list[str] = []
    ids_sorted = bool(fields.height) and users["id"].is_sorted()
    if ids_sorted:
        users = users.with_columns(pl.col("id").set_sorted())
    # the rows of each field, split in one pass (in their order), then one join per field: a value per
    # user and name (user_fields' primary key), so a left join adds a column; where both sides are in
    # id order (as SQLite reads them) polars merges them, which costs half what a pivot and one join did
    by_name = fields.partition_by("name", as_dict=True, maintain_order=True) if fields.height else {}
    for (name,), rows in sorted(by_name.items()):
        column = CUSTOM_PREFIX + name
        values = rows.select("user_id", pl.col("value").alias(column))
        if ids_sorted and values["user_id"].is_sorted():
            values = values.with_columns(pl.col("user_id").set_sorted())
        users = users.join(values, left_on="id", right_on="user_id", how="left", maintain_order="left")
        custom_columns.append(column)
    return users.select(
        pl.col("id").cast(pl.String),
        "login", "email", "firstName", "lastName",
        _unless_root("department_id", root),
        "status",
        _supervisor("sub_mode", "sub_id").alias("subordination"),
        _supervisor("cosub_mode", "cosub_id").alias("coSubordination"),
        "phone", "jobTitle",
        *[pl.col(c).cast(pl.String) for c in custom_columns],
    )


def _unless_root(column: str, root: int) -> pl.Expr:
    """An Int64 department reference as text, null for the root."""
    return pl.when(pl.col(column) != root).then(pl.col(column).cast(pl.String)).alias(column)


def _supervisor(mode: str, sid: str) -> pl.Expr:
    return (
        pl.when(pl.col(mode) == "manual").then(pl.col(sid).cast(pl.String))
        .when(pl.col(mode) == "none").then(pl.lit(NO_SUPERVISOR))
        .otherwise(pl.lit(None, dtype=pl.String))
    )
