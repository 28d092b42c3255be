"""`lms load` behind `EmbeddedLMS.load`: every row checked first, then the whole contents replaced at once.

Users come as rows (dicts, `validate_load`) or, from a file, as a frame: a million
users are checked with polars (`prepare_users`), and only a frame with a problem
goes through `validate_load` to name every problem. Either way they are written
from one frame of checked users (`checked_users`).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any

import polars as pl

from ..errors import LMSError
from ..sources.table import ROW
from .embedded_schema import STATUSES, TOKEN_TRIGGERS, blank_none, ci


class LoadRefused(LMSError):
    """`lms load`'s rows are not valid: nothing was loaded. (The rows' problems name sheet rows;
    the caller knows which files they came from.)"""

# `lms load` also takes iSpring's numeric statuses (U5).
_STATUS_WORDS = {**{s: s for s in STATUSES}, "1": "active", "3": "inactive", "5": "terminated"}

_DEPARTMENT_KEYS = ("code", "name", "parentCode")
_USER_KEYS = (
    "login", "email", "firstName", "lastName", "departmentId", "status",
    "subordination", "coSubordination", "phone", "jobTitle", "custom",
)
_MAX_LISTED_PROBLEMS = 20


# ---------------------------------------------------------------- validation

_DeptRow = tuple[str, str, str | None]  # code, name, parent code (lowered) — parents first
# login_ci, login, email, first, last, dept code_ci, status, sub login_ci|""|None, cosub, phone, job, custom items
_UserRow = tuple[str, str, str, str | None, str | None, str | None, str, str | None, str | None,
                 str | None, str | None, list[tuple[str, str]]]


def _row_number(row: Mapping[str, Any], index: int) -> int:
    number = row.get(ROW)
    return number if isinstance(number, int) else index + 2


def validate_load(
    departments: Sequence[Mapping[str, Any]], users: Sequence[Mapping[str, Any]]
) -> tuple[list[_DeptRow], list[_UserRow]]:
    """The rows to load (departments parents first), or `LMSError` listing every problem."""
    problems: list[str] = []
    ignored = {"id", ROW}

    # departments
    seen_codes: dict[str, int] = {}
    parsed: dict[str, tuple[int, str, str, str | None, str | None]] = {}  # code_ci -> row, code, name, parent_ci, parent
    for i, d in enumerate(departments):
        row = _row_number(d, i)
        where = f"departments row {row}"
        for key in d:
            if key not in _DEPARTMENT_KEYS and key not in ignored:
                problems.append(f"{where}: unknown field {key!r} (departments have code, name, parentCode)")
        code = blank_none(d.get("code"))
        name = blank_none(d.get("name"))
        parent = blank_none(d.get("parentCode"))
        if code is None:
            problems.append(f"{where}: code is blank")
            continue
        if name is None:
            problems.append(f"{where}: name of department {code!r} is blank")
        key = ci(code)
        if key in seen_codes:
            problems.append(f"{where}: department code {code!r} is already used on row {seen_codes[key]}")
            continue
        seen_codes[key] = row
        parsed[key] = (row, code, name or "", None if parent is None else ci(parent), parent)
    for row, code, _, parent_ci, parent in parsed.values():
        if parent_ci is not None and parent_ci not in parsed:
            problems.append(f"departments row {row}: unknown parentCode {parent!r} for department {code!r}")

    order: list[_DeptRow] = []
    state: dict[str, int] = {}  # 1 = on the current path, 2 = placed

    for start in parsed:
        path: list[str] = []
        key: str | None = start
        while key is not None and key in parsed and state.get(key) != 2:
            if state.get(key) == 1:
                cycle = path[path.index(key):] + [key]
                rows = ", ".join(str(parsed[k][0]) for k in cycle[:-1])
                problems.append(
                    f"departments rows {rows}: parentCode forms a cycle "
                    + " → ".join(parsed[k][1] for k in cycle)
                )
                break
            state[key] = 1
            path.append(key)
            key = parsed[key][3]
        for k in reversed(path):  # parents first
            state[k] = 2
            _, code, name, parent_ci, _ = parsed[k]
            order.append((code, name, parent_ci))

    # users
    seen_logins: dict[str, int] = {}
    seen_emails: dict[str, int] = {}
    out: list[_UserRow] = []
    supervisors: list[tuple[str, str, str, str, str]] = []  # where, field, value, own login_ci, own login
    for i, u in enumerate(users):
        row = _row_number(u, i)
        where = f"users row {row}"
        for key in u:
            if key not in _USER_KEYS and key not in ignored:
                problems.append(f"{where}: unknown field {key!r} (custom fields go in 'custom')")
        login = blank_none(u.get("login"))
        email = blank_none(u.get("email"))
        if login is None:
            problems.append(f"{where}: login is blank")
        if email is None:
            problems.append(f"{where}: email of {login!r} is blank")
        if login is None or email is None:
            continue
        lci, eci = ci(login), ci(email)
        if lci in seen_logins:
            problems.append(f"{where}: login {login!r} is already used on row {seen_logins[lci]}")
            continue
        seen_logins[lci] = row
        if eci in seen_emails:
            problems.append(f"{where}: email {email!r} is already used on row {seen_emails[eci]}")
        seen_emails.setdefault(eci, row)
        dept = blank_none(u.get("departmentId"))
        if dept is not None and ci(dept) not in parsed:
            problems.append(f"{where}: unknown departmentId {dept!r} for user {login!r}")
        raw_status = u.get("status")
        status_text = blank_none(raw_status)
        status = "active" if status_text is None else _STATUS_WORDS.get(ci(status_text))
        if status is None:
            problems.append(
                f"{where}: invalid status {raw_status!r} for user {login!r} (expected active, inactive or terminated)"
            )
            status = "active"
        links: list[str | None] = []
        for fld in ("subordination", "coSubordination"):
            value = u.get(fld)
            if value is None:
                links.append(None)
            elif not str(value).strip():
                links.append("")
            else:
                links.append(ci(str(value)))
                supervisors.append((where, fld, str(value), lci, login))
        custom = u.get("custom") or {}
        if not isinstance(custom, Mapping):
            problems.append(f"{where}: custom must be a mapping of field name to value, not {custom!r}")
            custom = {}
        fields = []
        for name, value in sorted(custom.items()):
            if not isinstance(name, str) or not name.strip():
                problems.append(f"{where}: a custom field needs a name, not {name!r}")
            elif blank_none(value) is not None:
                fields.append((name, str(value)))
        out.append((
            lci, login, email, blank_none(u.get("firstName")), blank_none(u.get("lastName")),
            None if dept is None else ci(dept), status, links[0], links[1],
            blank_none(u.get("phone")), blank_none(u.get("jobTitle")), fields,
        ))
    for where, fld, value, own, login in supervisors:
        if ci(value) not in seen_logins:
            problems.append(f"{where}: unknown {fld} login {value!r} for user {login!r}")
        elif ci(value) == own:
            problems.append(f"{where}: user {login!r} cannot be their own {fld}")

    if problems:
        listed = problems[:_MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        text = "\n".join(listed) + (f"\n… and {more} more" if more else "")
        raise LoadRefused(
            f"cannot load: {len(problems)} problem(s)\n{text}",
            hint="nothing was loaded; fix the files and load again",
        )
    return order, out


# ---------------------------------------------------------------- users as frames

# The checked users, one row each: text columns; `sub` / `cosub`: null = inherited, "" = none,
# else the supervisor's login_ci. Their custom values: FIELDS (the user's position, name, value).
USER_FRAME = {c: pl.String for c in ("login_ci", "login", "email", "email_ci", "first_name", "last_name", "dept_ci",
                                     "status", "sub", "cosub", "phone", "job_title")}
FIELDS = {"i": pl.Int64, "name": pl.String, "value": pl.String}
_LOAD_COLUMNS = {"login": "login", "email": "email", "firstName": "first_name", "lastName": "last_name",
                 "phone": "phone", "jobTitle": "job_title"}


def checked_users(user_rows: list[_UserRow]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of `validate_load` as (USER_FRAME, FIELDS)."""
    users = pl.DataFrame(
        [(lci, login, email, ci(email), first, last, dept, status, sub, cosub, phone, job)
         for lci, login, email, first, last, dept, status, sub, cosub, phone, job, _ in user_rows],
        schema=USER_FRAME, orient="row")
    fields = pl.DataFrame([(i, name, value) for i, u in enumerate(user_rows) for name, value in u[-1]],
                          schema=FIELDS, orient="row")
    return users, fields


def _ci_column(values: pl.Series) -> pl.Series:
    """`ci` of every value: polars where that is the same (ASCII), `ci` itself for the rest."""
    out = values.str.strip_chars().str.to_lowercase()
    other = (values.str.len_bytes() != values.str.len_chars()).fill_null(False)
    if other.any():
        at = other.arg_true()
        out = out.scatter(at, [ci(v) for v in values.gather(at).to_list()])
    return out


def prepare_users(users: pl.DataFrame, custom: Sequence[str], department_keys: set[str]
                  ) -> tuple[pl.DataFrame, pl.DataFrame] | None:
    """An `lms load` users sheet (LMS field names, values trimmed, blanks null; `custom` are the
    custom fields' columns) as (USER_FRAME, FIELDS), or None when a row breaks one of
    `validate_load`'s rules (it then names them)."""
    def text(name: str) -> pl.Series:
        return users[name] if name in users.columns else pl.repeat(None, users.height, dtype=pl.String, eager=True)

    login, email, dept, status = text("login"), text("email"), text("departmentId"), text("status")
    if login.null_count() or email.null_count():
        return None
    lci, eci = _ci_column(login), _ci_column(email)
    if lci.is_duplicated().any() or eci.is_duplicated().any():
        return None
    dept_ci = _ci_column(dept)
    if (dept_ci.is_not_null() & ~dept_ci.is_in(list(department_keys))).any():
        return None
    words = {s: _STATUS_WORDS.get(ci(s)) for s in status.drop_nulls().unique().to_list()}
    if None in words.values():
        return None
    frame = pl.DataFrame({"login_ci": lci, "login": login, "email": email, "email_ci": eci,
                          **{column: text(f) for f, column in _LOAD_COLUMNS.items() if f not in ("login", "email")},
                          "dept_ci": dept_ci, "status": status.replace_strict(words, default=None).fill_null("active")})
    for f, column in (("subordination", "sub"), ("coSubordination", "cosub")):
        link = _ci_column(text(f))
        if (link.is_not_null() & (~link.is_in(lci.implode()) | (link == lci))).any():
            return None
        frame = frame.with_columns(link.alias(column))
    fields = (users.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("i"), *custom)
              .unpivot(list(custom), index="i", variable_name="name", value_name="value")
              .drop_nulls("value").sort("i", "name")) if custom else pl.DataFrame(schema=FIELDS)
    return (frame.select(pl.col(c).cast(t) for c, t in USER_FRAME.items()),
            fields.select(pl.col(c).cast(t) for c, t in FIELDS.items()))


# ---------------------------------------------------------------- bulk load


def replace_contents(
    conn: sqlite3.Connection, root: int, dept_rows: list[_DeptRow], users: pl.DataFrame, fields: pl.DataFrame,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Replace every department but the root, and every user, with checked rows: departments from
    `validate_load`, users as (USER_FRAME, FIELDS) (inside a write transaction). Returns the users
    and custom values written, as `embedded_frames.read_users` would read them back."""
    conn.execute("PRAGMA defer_foreign_keys = ON")  # supervisors may point forward
    # the indexes of a million users fit in 128 MB of page cache: kept there, the bulk writes
    # spend about an eighth less (the connection's own setting comes back at the end)
    cache = conn.execute("PRAGMA cache_size").fetchone()[0]
    conn.execute("PRAGMA cache_size = -131072")
    try:
        return _replace(conn, root, dept_rows, users, fields)
    finally:
        conn.execute(f"PRAGMA cache_size = {int(cache)}")


def _replace(conn: sqlite3.Connection, root: int, dept_rows: list[_DeptRow], users: pl.DataFrame,
             fields: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    # A whole new state: the snapshot token's per-row triggers would only slow the bulk
    # writes down. They are dropped and recreated inside this transaction (DDL is
    # transactional), so no other connection ever sees the tables without them.
    for name in TOKEN_TRIGGERS:
        conn.execute(f"DROP TRIGGER IF EXISTS {name}")
    conn.execute("DELETE FROM user_fields")
    conn.execute("DELETE FROM users")
    conn.execute("DELETE FROM departments WHERE is_root = 0")
    ids: dict[str, int] = {}
    for code, name, parent_ci in dept_rows:  # parents first
        cur = conn.execute(
            "INSERT INTO departments (code, code_ci, name, parent_id) VALUES (?, ?, ?, ?)",
            (code, ci(code), name, root if parent_ci is None else ids[parent_ci]),
        )
        ids[ci(code)] = cur.lastrowid  # type: ignore[assignment]
    row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'users'").fetchone()
    first = (row[0] if row else 0) + 1
    uid = pl.int_range(first, first + users.height, dtype=pl.Int64, eager=True)
    by_login = dict(zip(users["login_ci"].to_list(), uid.to_list()))
    by_code = {**ids, None: root}

    def link(column: str) -> tuple[pl.Series, pl.Series]:
        value = users[column]
        mode = (pl.when(value.is_null()).then(pl.lit("inherit")).when(value == "").then(pl.lit("none"))
                .otherwise(pl.lit("manual")))
        return (pl.select(mode).to_series(),
                value.replace_strict(by_login, default=None, return_dtype=pl.Int64))

    sub_mode, sub_id = link("sub")
    cosub_mode, cosub_id = link("cosub")
    del by_login
    written = pl.DataFrame({
        "id": uid, "login": users["login"], "login_ci": users["login_ci"], "email": users["email"],
        "email_ci": users["email_ci"], "firstName": users["first_name"], "lastName": users["last_name"],
        "department_id": users["dept_ci"].replace_strict(by_code, return_dtype=pl.Int64), "status": users["status"],
        "sub_mode": sub_mode, "sub_id": sub_id, "cosub_mode": cosub_mode, "cosub_id": cosub_id,
        "phone": users["phone"], "jobTitle": users["job_title"],
    })
    conn.executemany(
        "INSERT INTO users (id, login, login_ci, email, email_ci, first_name, last_name, department_id,"
        " status, sub_mode, sub_id, cosub_mode, cosub_id, phone, job_title)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        zip(*(c.to_list() for c in written.iter_columns())),
    )
    written_fields = fields.select((pl.col("i") + first).alias("user_id"), "name", "value")
    conn.executemany("INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)",
                     zip(*(c.to_list() for c in written_fields.iter_columns())))
    for create in TOKEN_TRIGGERS.values():
        conn.execute(create)
    return written.drop("login_ci", "email_ci"), written_fields
