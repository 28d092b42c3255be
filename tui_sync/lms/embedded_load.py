"""`lms load` behind `EmbeddedLMS.load`: every row checked first, then the whole contents replaced at once.

Users come as rows (dicts, `validate_load`) or, from a file, as a frame: a million
users are checked with polars (`prepare_users`), and only a frame with a problem
goes through `validate_load` to name every problem. Either way they are written
from one frame of checked users (`checked_users`).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import polars as pl

from ..errors import LMSError
from ..hierarchy import walk_up
from ..sources.table import ROW
from .embedded_schema import STATUSES, TOKEN_TRIGGERS, blank_none, ci


class LoadRefused(LMSError):
    """`lms load`'s rows are not valid: nothing was loaded. (The rows' problems name sheet rows;
    the caller knows which files they came from.)"""

# `lms load` also takes iSpring's numeric statuses (U5).
_STATUS_WORDS = {**{status: status for status in STATUSES}, "1": "active", "3": "inactive", "5": "terminated"}

_DEPARTMENT_KEYS = ("code", "name", "parentCode")
_USER_KEYS = (
    "login", "email", "firstName", "lastName", "departmentId", "status",
    "subordination", "coSubordination", "phone", "jobTitle", "custom",
)
_IGNORED_KEYS = ("id", ROW)
_MAX_LISTED_PROBLEMS = 20


# ---------------------------------------------------------------- validation

_DeptRow = tuple[str, str, str | None]  # code, name, parent code (lowered) — parents first
# login_ci, login, email, first, last, dept code_ci, status, sub login_ci|""|None, cosub, phone, job, custom items
_UserRow = tuple[str, str, str, str | None, str | None, str | None, str, str | None, str | None,
                 str | None, str | None, list[tuple[str, str]]]


class _Department(NamedTuple):
    row: int
    code: str
    name: str
    parent_ci: str | None
    parent: str | None  # as written


class _SupervisorLink(NamedTuple):
    where: str
    field: str  # subordination or coSubordination
    value: str  # the supervisor's login, as written
    own_login_ci: str
    own_login: str


def _row_number(row: Mapping[str, Any], index: int) -> int:
    number = row.get(ROW)
    return number if isinstance(number, int) else index + 2


def validate_load(
    departments: Sequence[Mapping[str, Any]], users: Sequence[Mapping[str, Any]]
) -> tuple[list[_DeptRow], list[_UserRow]]:
    """The rows to load (departments parents first), or `LMSError` listing every problem."""
    problems: list[str] = []
    parsed = _checked_departments(departments, problems)
    _unknown_parents(parsed, problems)
    order = _departments_parents_first(parsed, problems)
    checks = _UserChecks(set(parsed), problems)
    rows = [row for index, user in enumerate(users) if (row := checks.user(user, index)) is not None]
    checks.supervisors()
    if problems:
        listed = problems[:_MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        text = "\n".join(listed) + (f"\n… and {more} more" if more else "")
        raise LoadRefused(
            f"cannot load: {len(problems)} problem(s)\n{text}",
            hint="nothing was loaded; fix the files and load again",
        )
    return order, rows


def _unknown_fields(row: Mapping[str, Any], known: tuple[str, ...], where: str, hint: str,
                    problems: list[str]) -> None:
    for key in row:
        if key not in known and key not in _IGNORED_KEYS:
            problems.append(f"{where}: unknown field {key!r} ({hint})")


def _checked_departments(departments: Sequence[Mapping[str, Any]], problems: list[str]) -> dict[str, _Department]:
    """D1 for `lms load`: code and name are required, a code is used once. By code_ci, in file order."""
    parsed: dict[str, _Department] = {}
    for index, department in enumerate(departments):
        row = _row_number(department, index)
        where = f"departments row {row}"
        _unknown_fields(department, _DEPARTMENT_KEYS, where, "departments have code, name, parentCode", problems)
        code = blank_none(department.get("code"))
        name = blank_none(department.get("name"))
        parent = blank_none(department.get("parentCode"))
        if code is None:
            problems.append(f"{where}: code is blank")
            continue
        if name is None:
            problems.append(f"{where}: name of department {code!r} is blank")
        code_ci = ci(code)
        if code_ci in parsed:
            problems.append(f"{where}: department code {code!r} is already used on row {parsed[code_ci].row}")
            continue
        parsed[code_ci] = _Department(row, code, name or "", None if parent is None else ci(parent), parent)
    return parsed


def _unknown_parents(parsed: dict[str, _Department], problems: list[str]) -> None:
    """D3: a parentCode names a department of the file."""
    for department in parsed.values():
        if department.parent_ci is not None and department.parent_ci not in parsed:
            problems.append(f"departments row {department.row}: unknown parentCode {department.parent!r}"
                            f" for department {department.code!r}")


def _departments_parents_first(parsed: dict[str, _Department], problems: list[str]) -> list[_DeptRow]:
    """D3: the departments in the order they are written (parents first); a loop of parentCodes
    is refused, naming its rows and its path."""
    parent_of = {code_ci: d.parent_ci if d.parent_ci in parsed else None for code_ci, d in parsed.items()}
    walk = walk_up(parsed, parent_of)
    for cycle in walk.cycles:
        rows = ", ".join(str(parsed[code_ci].row) for code_ci in cycle)
        problems.append(f"departments rows {rows}: parentCode forms a cycle "
                        + " → ".join(parsed[code_ci].code for code_ci in (*cycle, cycle[0])))
    return [(parsed[code_ci].code, parsed[code_ci].name, parsed[code_ci].parent_ci) for code_ci in walk.parents_first]


class _UserChecks:
    """U1, U3, U4, U5, U7 for `lms load`, one user row at a time; supervisors once every login is known."""

    def __init__(self, department_keys: set[str], problems: list[str]) -> None:
        self.department_keys, self.problems = department_keys, problems
        self.login_rows: dict[str, int] = {}  # login_ci -> row
        self.email_rows: dict[str, int] = {}  # email_ci -> first row
        self.links: list[_SupervisorLink] = []

    def user(self, user: Mapping[str, Any], index: int) -> _UserRow | None:
        row = _row_number(user, index)
        where = f"users row {row}"
        _unknown_fields(user, _USER_KEYS, where, "custom fields go in 'custom'", self.problems)
        identity = self._login_and_email(user, row, where)
        if identity is None:
            return None
        login_ci, login, email = identity
        department = blank_none(user.get("departmentId"))
        if department is not None and ci(department) not in self.department_keys:
            self.problems.append(f"{where}: unknown departmentId {department!r} for user {login!r}")
        status = self._status(user, login, where)
        sub, cosub = (self._link(user, name, where, login_ci, login) for name in ("subordination", "coSubordination"))
        return (
            login_ci, login, email, blank_none(user.get("firstName")), blank_none(user.get("lastName")),
            None if department is None else ci(department), status, sub, cosub,
            blank_none(user.get("phone")), blank_none(user.get("jobTitle")), self._custom_fields(user, where),
        )

    def _login_and_email(self, user: Mapping[str, Any], row: int, where: str) -> tuple[str, str, str] | None:
        """U1: login and email are required; U3: a login is used once (that row is left out), an email too."""
        login = blank_none(user.get("login"))
        email = blank_none(user.get("email"))
        if login is None:
            self.problems.append(f"{where}: login is blank")
        if email is None:
            self.problems.append(f"{where}: email of {login!r} is blank")
        if login is None or email is None:
            return None
        login_ci, email_ci = ci(login), ci(email)
        if login_ci in self.login_rows:
            self.problems.append(f"{where}: login {login!r} is already used on row {self.login_rows[login_ci]}")
            return None
        self.login_rows[login_ci] = row
        if email_ci in self.email_rows:
            self.problems.append(f"{where}: email {email!r} is already used on row {self.email_rows[email_ci]}")
        self.email_rows.setdefault(email_ci, row)
        return login_ci, login, email

    def _status(self, user: Mapping[str, Any], login: str, where: str) -> str:
        """U5: blank is active; iSpring's numbers are taken too."""
        raw_status = user.get("status")
        status_text = blank_none(raw_status)
        status = "active" if status_text is None else _STATUS_WORDS.get(ci(status_text))
        if status is None:
            self.problems.append(
                f"{where}: invalid status {raw_status!r} for user {login!r} (expected active, inactive or terminated)"
            )
            return "active"
        return status

    def _link(self, user: Mapping[str, Any], field: str, where: str, login_ci: str, login: str) -> str | None:
        """U7: None = inherited, "" = none, else the supervisor's login_ci (checked in `supervisors`)."""
        value = user.get(field)
        if value is None:
            return None
        if not str(value).strip():
            return ""
        self.links.append(_SupervisorLink(where, field, str(value), login_ci, login))
        return ci(str(value))

    def _custom_fields(self, user: Mapping[str, Any], where: str) -> list[tuple[str, str]]:
        custom = user.get("custom") or {}
        if not isinstance(custom, Mapping):
            self.problems.append(f"{where}: custom must be a mapping of field name to value, not {custom!r}")
            custom = {}
        fields = []
        for name, value in sorted(custom.items()):
            if not isinstance(name, str) or not name.strip():
                self.problems.append(f"{where}: a custom field needs a name, not {name!r}")
            elif blank_none(value) is not None:
                fields.append((name, str(value)))
        return fields

    def supervisors(self) -> None:
        """U7: a supervisor is a user of the file, and not the user themself."""
        for link in self.links:
            if ci(link.value) not in self.login_rows:
                self.problems.append(
                    f"{link.where}: unknown {link.field} login {link.value!r} for user {link.own_login!r}")
            elif ci(link.value) == link.own_login_ci:
                self.problems.append(f"{link.where}: user {link.own_login!r} cannot be their own {link.field}")


# ---------------------------------------------------------------- users as frames

# The checked users, one row each: text columns; `sub` / `cosub`: null = inherited, "" = none,
# else the supervisor's login_ci. Their custom values: FIELDS (the user's position, name, value).
USER_FRAME = {column: pl.String for column in ("login_ci", "login", "email", "email_ci", "first_name", "last_name",
                                               "dept_ci", "status", "sub", "cosub", "phone", "job_title")}
FIELDS = {"i": pl.Int64, "name": pl.String, "value": pl.String}
_LOAD_COLUMNS = {"login": "login", "email": "email", "firstName": "first_name", "lastName": "last_name",
                 "phone": "phone", "jobTitle": "job_title"}


def checked_users(user_rows: list[_UserRow]) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of `validate_load` as (USER_FRAME, FIELDS)."""
    users = pl.DataFrame(
        [(login_ci, login, email, ci(email), first, last, dept, status, sub, cosub, phone, job)
         for login_ci, login, email, first, last, dept, status, sub, cosub, phone, job, _ in user_rows],
        schema=USER_FRAME, orient="row")
    fields = pl.DataFrame([(index, name, value) for index, user in enumerate(user_rows) for name, value in user[-1]],
                          schema=FIELDS, orient="row")
    return users, fields


def _ci_column(values: pl.Series) -> pl.Series:
    """`ci` of every value: polars where that is the same (ASCII), `ci` itself for the rest."""
    out = values.str.strip_chars().str.to_lowercase()
    other = (values.str.len_bytes() != values.str.len_chars()).fill_null(False)
    if other.any():
        at = other.arg_true()
        out = out.scatter(at, [ci(value) for value in values.gather(at).to_list()])
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
    login_ci, email_ci = _ci_column(login), _ci_column(email)
    if login_ci.is_duplicated().any() or email_ci.is_duplicated().any():
        return None
    dept_ci = _ci_column(dept)
    if (dept_ci.is_not_null() & ~dept_ci.is_in(list(department_keys))).any():
        return None
    words = {written: _STATUS_WORDS.get(ci(written)) for written in status.drop_nulls().unique().to_list()}
    if None in words.values():
        return None
    frame = pl.DataFrame({"login_ci": login_ci, "login": login, "email": email, "email_ci": email_ci,
                          **{column: text(name) for name, column in _LOAD_COLUMNS.items()
                             if name not in ("login", "email")},
                          "dept_ci": dept_ci, "status": status.replace_strict(words, default=None).fill_null("active")})
    for name, column in (("subordination", "sub"), ("coSubordination", "cosub")):
        link = _ci_column(text(name))
        if (link.is_not_null() & (~link.is_in(login_ci.implode()) | (link == login_ci))).any():
            return None
        frame = frame.with_columns(link.alias(column))
    fields = (users.select(pl.int_range(pl.len(), dtype=pl.Int64).alias("i"), *custom)
              .unpivot(list(custom), index="i", variable_name="name", value_name="value")
              .drop_nulls("value").sort("i", "name")) if custom else pl.DataFrame(schema=FIELDS)
    return (frame.select(pl.col(column).cast(dtype) for column, dtype in USER_FRAME.items()),
            fields.select(pl.col(column).cast(dtype) for column, dtype in FIELDS.items()))


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
        zip(*(column.to_list() for column in written.iter_columns())),
    )
    written_fields = fields.select((pl.col("i") + first).alias("user_id"), "name", "value")
    conn.executemany("INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)",
                     zip(*(column.to_list() for column in written_fields.iter_columns())))
    for create in TOKEN_TRIGGERS.values():
        conn.execute(create)
    return written.drop("login_ci", "email_ci"), written_fields
