"""SQLite columns into polars without a Python object per cell.

Used for the embedded LMS's snapshot and the ledger, both read on every plan.
(Same SQLite library as the rest of the process: a second copy of SQLite in one
process, as an Arrow driver would bring, breaks its file locks.)
"""
from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from typing import Any

import polars as pl


def read_columns(
    conn: sqlite3.Connection, source: str, columns: Sequence[tuple[str, str, Any]],
    params: Sequence[Any] = (),
) -> pl.DataFrame:
    """`SELECT columns FROM source` as a frame, without a Python object per cell.

    SQLite packs each column into one JSON array (`json_group_array`, in C) and
    polars decodes it (in Rust): fetching 1M users as Python tuples costs about
    three times as much. All arrays come from one scan, so their rows line up.
    """
    names = [name for _, name, _ in columns]
    schema = {name: dtype for _, name, dtype in columns}
    try:
        texts = conn.execute(
            "SELECT " + ", ".join(f"json_group_array({sql})" for sql, _, _ in columns) + f" FROM {source}", params,
        ).fetchone()
    except sqlite3.OperationalError as exc:
        if "no such function" not in str(exc):
            raise
        # an SQLite built without JSON: the plain, slower way
        rows = conn.execute("SELECT " + ", ".join(sql for sql, _, _ in columns) + f" FROM {source}", params).fetchall()
        return pl.DataFrame(rows, schema=schema, orient="row")
    if texts[0] == "[]":
        return pl.DataFrame(schema=schema)
    packed = pl.DataFrame({name: [text] for name, text in zip(names, texts)}, schema={n: pl.String for n in names})
    return packed.select(
        pl.col(name).str.json_decode(pl.List(dtype)) for _, name, dtype in columns
    ).explode(names)
