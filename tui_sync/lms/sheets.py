"""`lms load` input (DESIGN §2): CSV or XLSX sheets whose headers are the LMS field names.

Departments: `code,name,parentCode`. Users: `login,email,firstName,lastName,
departmentId,status,subordination,coSubordination,phone,jobTitle`; any other
header is a custom field of that name. Headers match the field names
regardless of case. Blank cells are empty values; a header-only file is an
empty list. Each row dict carries its spreadsheet row number under `ROW`
(`__row`) so that `EmbeddedLMS.load` names the right row in its messages.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import polars as pl

from ..errors import UsageError
from ..sources.local import read_file
from ..sources.table import ROW, SheetOptions, Table

DEPARTMENT_HEADERS: tuple[str, ...] = ("code", "name", "parentCode")
DEPARTMENT_REQUIRED_HEADERS: tuple[str, ...] = ("code", "name")
USER_HEADERS: tuple[str, ...] = (
    "login", "email", "firstName", "lastName", "departmentId", "status",
    "subordination", "coSubordination", "phone", "jobTitle",
)
USER_REQUIRED_HEADERS: tuple[str, ...] = ("login", "email", "firstName", "lastName", "departmentId")


def read_load_files(departments_path: Path, users_path: Path) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The rows of both files in the LMS vocabulary, ready for `EmbeddedLMS.load`.

    Raises `SourceError` when a file cannot be read and `UsageError` when a
    required header is missing (or, for departments, a header is unknown).
    """
    return read_departments(departments_path), read_users(users_path)


def read_departments(path: Path) -> list[dict[str, Any]]:
    table = read_file(Path(path), SheetOptions())
    columns, extra = _columns(table, DEPARTMENT_HEADERS, DEPARTMENT_REQUIRED_HEADERS, "departments")
    if extra:
        raise UsageError(
            f"unknown column(s) {', '.join(map(repr, extra))} in the departments file",
            where=table.source,
            hint=f"the embedded LMS's departments have {', '.join(DEPARTMENT_HEADERS)} only: remove the others",
        )
    return [
        {**{name: row[header] if header else None for name, header in columns.items()}, ROW: row[ROW]}
        for row in table.df.iter_rows(named=True)
    ]


def read_users(path: Path) -> list[dict[str, Any]]:
    return user_rows(*read_users_frame(path))


def read_users_frame(path: Path) -> tuple[pl.DataFrame, tuple[str, ...]]:
    """The users file as a frame with the LMS field names as columns (those it has), its
    custom fields' columns under their headers, and `ROW`; and the custom fields' names."""
    table = read_file(Path(path), SheetOptions())
    columns, custom = _columns(table, USER_HEADERS, USER_REQUIRED_HEADERS, "users")
    frame = table.df.select(*(pl.col(header).alias(name) for name, header in columns.items() if header),
                            *custom, ROW)
    return frame, tuple(custom)


def user_rows(frame: pl.DataFrame, custom: tuple[str, ...]) -> list[dict[str, Any]]:
    """The rows of `read_users_frame` as `EmbeddedLMS.load` takes them."""
    out: list[dict[str, Any]] = []
    for row in frame.iter_rows(named=True):
        user: dict[str, Any] = {name: row.get(name) for name in USER_HEADERS}
        user["custom"] = {name: row[name] for name in custom if row[name] is not None}
        user[ROW] = row[ROW]
        out.append(user)
    return out


def _columns(
    table: Table, fields: tuple[str, ...], required: tuple[str, ...], what: str
) -> tuple[dict[str, str | None], list[str]]:
    """LMS field -> the sheet's header for it (None when absent), and the other headers."""
    by_name: dict[str, str | None] = dict.fromkeys(fields)
    lowered = {f.lower(): f for f in fields}
    others: list[str] = []
    for header in table.headers:
        field = lowered.get(header.strip().lower())
        if field is None:
            others.append(header)
        elif by_name[field] is not None:
            raise UsageError(
                f"the {what} file has two columns for {field!r}: {by_name[field]!r} and {header!r}",
                where=table.source, hint="keep one of them",
            )
        else:
            by_name[field] = header
    missing = [f for f in required if by_name[f] is None]
    if missing:
        raise UsageError(
            f"the {what} file has no column {', '.join(map(repr, missing))}",
            where=table.source,
            hint=f"its headers are {', '.join(map(repr, table.headers)) or '(none)'}; "
                 f"an `lms load` {what} file uses the LMS field names: {', '.join(fields)}",
        )
    return by_name, others
