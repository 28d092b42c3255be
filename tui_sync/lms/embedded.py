"""The embedded LMS: departments and users in one SQLite file (DESIGN §3).

The default LMS for demos, tests and rehearsals. It behaves like a real LMS
where that matters to a sync: logins, emails and department codes are unique
regardless of case, departments form one tree under a root that cannot be
changed or deleted, and a department that still has users or child
departments cannot be deleted. Such refusals raise `LMSError`.

A missing database file is an empty LMS that holds only the root. Reading it
(`snapshot`, `dump`, `get_*`, `find_*`) does not create the file; the first
write or `load` does.

Large snapshots are cached beside the database, as an Arrow file of the users
frame named by the database's *snapshot token*: a random value that every write
transaction of this class replaces before it commits, and that triggers on the
data tables clear (in the same transaction) whenever anything else writes them.
A token read in the snapshot's own read transaction therefore names one committed
state of the tables; a cache file carrying it holds exactly that state's users.

Case-insensitive uniqueness uses shadow columns (`code_ci`, `login_ci`,
`email_ci`) lowered in Python rather than SQLite's `lower()`, which folds
ASCII only: `Иван` and `иван` must collide too, as they do for the planner.
"""
from __future__ import annotations

import glob
import os
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import polars as pl

from ..errors import LMSError
from ..model import Status
from ..sources.table import ROW
from ..sqlite_frames import read_columns as _read_columns
from .base import (
    CUSTOM_PREFIX,
    DEPARTMENT_SCHEMA,
    NO_SUPERVISOR,
    USER_SCHEMA,
    DepartmentRecord,
    Snapshot,
    UserRecord,
)

SCHEMA_VERSION = 1
ROOT_ID = 1  # the root department's id in every database this module creates
ROOT_NAME = "Root"
BUSY_TIMEOUT_MS = 10_000

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
PRAGMA user_version = {SCHEMA_VERSION};
"""

# The snapshot token (see the module's docstring). Added to databases of schema version 1
# that predate it by their first write transaction; until then they have no token (no cache).
_TOKEN_TRIGGERS = {
    f"snapshot_stale_{table}_{op.lower()}":
        f"CREATE TRIGGER IF NOT EXISTS snapshot_stale_{table}_{op.lower()} AFTER {op} ON {table}"
        " BEGIN UPDATE snapshot_state SET token = NULL WHERE token IS NOT NULL; END"
    for table in ("departments", "users", "user_fields") for op in ("INSERT", "UPDATE", "DELETE")
}
_TOKEN_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS snapshot_state (id INTEGER PRIMARY KEY CHECK (id = 1), token BLOB)",
    "INSERT OR IGNORE INTO snapshot_state (id, token) VALUES (1, NULL)",
    *_TOKEN_TRIGGERS.values(),
)

_STATUSES = frozenset(s.value for s in Status)
# `lms load` also takes iSpring's numeric statuses (U5).
_STATUS_WORDS = {**{s: s for s in _STATUSES}, "1": "active", "3": "inactive", "5": "terminated"}

# UserRecord field -> users column, for the plain text fields of `update_user`.
_USER_TEXT_COLUMNS = {
    "firstName": "first_name", "lastName": "last_name", "phone": "phone", "jobTitle": "job_title",
}
_SUPERVISOR_COLUMNS = {"subordination": ("sub_mode", "sub_id"), "coSubordination": ("cosub_mode", "cosub_id")}

_DEPARTMENT_KEYS = ("code", "name", "parentCode")
_USER_KEYS = (
    "login", "email", "firstName", "lastName", "departmentId", "status",
    "subordination", "coSubordination", "phone", "jobTitle", "custom",
)
_MAX_LISTED_PROBLEMS = 20


def _ci(value: str) -> str:
    """The form compared for uniqueness: trimmed, lower case."""
    return value.strip().lower()


def _blank_none(value: Any) -> str | None:
    """Optional text: a blank value is no value."""
    if value is None:
        return None
    text = str(value)
    return text if text.strip() else None


def _int_id(value: Any) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class EmbeddedLMS:
    """The LMS interface (`tui_sync.lms.base.LMS`) over one SQLite file.

    `create=False` refuses to create a missing file: writes then raise
    `LMSError` (reads still see an empty LMS holding only the root).

    Every method answers synchronously. One instance serves one caller at a
    time (one event loop); it may move between threads.
    """

    concurrent = False  # answers at once: apply runs its writes one after another, in transactions

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._create = create
        self._conn: sqlite3.Connection | None = None
        self._depth = 0  # open transactions: 0 = none, 1 = BEGIN, >1 = savepoints
        self._token_ready = False  # the snapshot token's table and triggers exist (checked once per connection)

    # ------------------------------------------------------------ connection

    def _open(self, *, for_write: bool) -> sqlite3.Connection | None:
        """The connection, opening the file on first use; None for a read of a missing file."""
        if self._conn is not None:
            return self._conn
        if not self.path.exists():
            if not for_write:
                return None
            if not self._create:
                raise LMSError(
                    f"there is no embedded LMS database at {self.path}",
                    hint="check [lms] path in the config, or run `tui-sync lms load` to create one",
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise LMSError(f"cannot open the embedded LMS database: {exc}", where=str(self.path)) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version == 0:
                has_tables = conn.execute(
                    "SELECT count(*) FROM sqlite_master WHERE name IN ('departments', 'users')"
                ).fetchone()[0]
                if has_tables:
                    raise LMSError(
                        "this SQLite file holds other tables named departments/users; it is not an embedded LMS",
                        where=str(self.path),
                    )
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(f"BEGIN IMMEDIATE;\n{_SCHEMA}\n{';'.join(_TOKEN_SCHEMA)};\nCOMMIT;")
            elif version > SCHEMA_VERSION:
                raise LMSError(
                    f"the embedded LMS database has schema version {version}; this tui_sync knows {SCHEMA_VERSION}",
                    where=str(self.path), hint="upgrade tui_sync",
                )
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise LMSError(f"cannot open the embedded LMS database: {exc}", where=str(self.path)) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, or a savepoint inside one (a batch): all or nothing."""
        conn = self._open(for_write=True)
        assert conn is not None
        depth = self._depth
        try:
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT s{depth}")
        except sqlite3.Error as exc:
            raise _lms_error(exc) from exc
        self._depth = depth + 1
        try:
            if depth == 0:
                if not self._token_ready:
                    for statement in _TOKEN_SCHEMA:
                        conn.execute(statement)
                    self._token_ready = True
                changes_before = conn.total_changes
            yield conn
            if depth == 0 and conn.total_changes != changes_before:
                # a new state: a new snapshot token, committed with it
                conn.execute("UPDATE snapshot_state SET token = randomblob(16) WHERE id = 1")
        except BaseException as exc:
            self._depth = depth
            try:
                if depth == 0:
                    conn.execute("ROLLBACK")
                else:
                    conn.execute(f"ROLLBACK TO s{depth}")
                    conn.execute(f"RELEASE s{depth}")
            except sqlite3.Error:
                pass
            if isinstance(exc, sqlite3.Error):
                raise _lms_error(exc) from exc
            raise
        else:
            self._depth = depth
            try:
                conn.execute("COMMIT" if depth == 0 else f"RELEASE s{depth}")
            except sqlite3.Error as exc:
                if depth == 0:
                    conn.execute("ROLLBACK")
                raise _lms_error(exc) from exc

    @contextmanager
    def _reading(self) -> Iterator[sqlite3.Connection | None]:
        """A consistent read (one transaction); None when the file does not exist."""
        conn = self._open(for_write=False)
        if conn is None or self._depth:
            yield conn
            return
        try:
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                conn.execute("COMMIT")
        except sqlite3.Error as exc:
            raise _lms_error(exc) from exc

    def batch(self) -> Any:
        """Group writes into one transaction: committed at the end, rolled back on an exception.

        A write that fails inside a batch is undone alone (it raises `LMSError`);
        the batch goes on. Batches nest (savepoints).
        """
        return self._batch()

    @asynccontextmanager
    async def _batch(self) -> AsyncIterator[None]:
        with self._transaction():
            yield

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._depth = 0
            self._token_ready = False

    # ------------------------------------------------------------ snapshot

    async def snapshot(self) -> Snapshot:
        with self._reading() as conn:
            if conn is None:
                return Snapshot(
                    root_id=str(ROOT_ID), departments=pl.DataFrame(schema=DEPARTMENT_SCHEMA),
                    users=pl.DataFrame(schema=USER_SCHEMA), known_custom_fields=None,
                )
            root = self._root_id(conn)
            departments = _read_columns(conn, "departments WHERE is_root = 0", _DEPARTMENT_COLUMNS)
            token = _snapshot_token(conn)
            cache = self._cache_path(token) if token is not None else None
            users = _read_cache(cache, conn) if cache is not None else None
            if users is None:
                raw, fields = _read_users(conn)
        departments = departments.select(
            pl.col("id").cast(pl.String), "code", "name", _unless_root("parent_id", root),
        )
        if users is None:
            users = _users_frame(raw, fields, root)
            del raw, fields
            if cache is not None and users.height >= SNAPSHOT_CACHE_MIN_USERS:
                _write_cache(cache, users)
        custom_columns = users.columns[len(USER_SCHEMA):]
        return Snapshot(
            root_id=str(root), departments=departments, users=users,
            custom_fields=tuple(c.removeprefix(CUSTOM_PREFIX) for c in custom_columns),
            known_custom_fields=None,
        )

    def _cache_path(self, token: bytes) -> Path:
        return self.path.with_name(f"{self.path.name}{_CACHE_INFIX}{token.hex()}.arrow")

    async def warm(self) -> None:
        """After a run of writes: rebuild the snapshot cache now, so that the next plan reads it
        instead of SQLite (a large LMS only; a small one has no cache)."""
        with self._reading() as conn:
            if conn is None:
                return
            n = conn.execute("SELECT count(*) FROM users").fetchone()[0]
        if n >= SNAPSHOT_CACHE_MIN_USERS:
            await self.snapshot()

    def _root_id(self, conn: sqlite3.Connection) -> int:
        row = conn.execute("SELECT id FROM departments WHERE is_root = 1").fetchone()
        if row is None:
            raise LMSError("the embedded LMS database has no root department", where=str(self.path))
        return int(row[0])

    # ------------------------------------------------------------ reads for A2 checks

    async def get_department(self, department_id: str) -> DepartmentRecord | None:
        did = _int_id(department_id)
        with self._reading() as conn:
            if did is None:
                return None
            if conn is None:
                return _root_record() if did == ROOT_ID else None
            return self._department(conn, "id = ?", did)

    async def find_department(self, code: str) -> DepartmentRecord | None:
        with self._reading() as conn:
            if conn is None or not code or not code.strip():
                return None
            return self._department(conn, "code_ci = ?", _ci(code))

    def _department(self, conn: sqlite3.Connection, where: str, value: Any) -> DepartmentRecord | None:
        row = conn.execute(
            f"SELECT id, code, name, parent_id, is_root FROM departments WHERE {where}", (value,)
        ).fetchone()
        if row is None:
            return None
        did, code, name, parent, is_root = row
        root = self._root_id(conn)
        return DepartmentRecord(
            id=str(did), code=code, name=name,
            parent_id=None if is_root or parent == root else str(parent),
        )

    async def get_user(self, user_id: str) -> UserRecord | None:
        uid = _int_id(user_id)
        with self._reading() as conn:
            if conn is None or uid is None:
                return None
            return self._user(conn, "id = ?", uid)

    async def find_user(self, *, login: str | None = None, email: str | None = None) -> UserRecord | None:
        """The user with this login or, failing that, with this email (case-insensitive)."""
        with self._reading() as conn:
            if conn is None:
                return None
            if login and login.strip():
                found = self._user(conn, "login_ci = ?", _ci(login))
                if found is not None:
                    return found
            if email and email.strip():
                return self._user(conn, "email_ci = ?", _ci(email))
            return None

    def _user(self, conn: sqlite3.Connection, where: str, value: Any) -> UserRecord | None:
        row = conn.execute(
            "SELECT id, login, email, first_name, last_name, department_id, status,"
            f" sub_mode, sub_id, cosub_mode, cosub_id, phone, job_title FROM users WHERE {where}",
            (value,),
        ).fetchone()
        if row is None:
            return None
        uid, login, email, first, last, dept, status, sm, sid, cm, cid, phone, job = row
        custom = dict(conn.execute(
            "SELECT name, value FROM user_fields WHERE user_id = ? ORDER BY name", (uid,)
        ).fetchall())
        return UserRecord(
            id=str(uid), login=login, email=email, firstName=first, lastName=last,
            department_id=None if dept == self._root_id(conn) else str(dept), status=status,
            subordination=_supervisor_value(sm, sid), coSubordination=_supervisor_value(cm, cid),
            phone=phone, jobTitle=job, custom=custom,
        )

    async def department_user_count(self, department_id: str) -> int:
        did = _int_id(department_id)
        with self._reading() as conn:
            if conn is None or did is None:
                return 0
            return conn.execute("SELECT count(*) FROM users WHERE department_id = ?", (did,)).fetchone()[0]

    # ------------------------------------------------------------ department writes

    async def create_department(self, *, code: str, name: str, parent_id: str | None) -> str:
        code_text = _required_text(code, "department code")
        name_text = _required_text(name, "department name")
        with self._transaction() as conn:
            parent = self._existing_department(conn, parent_id) if parent_id is not None else self._root_id(conn)
            try:
                cur = conn.execute(
                    "INSERT INTO departments (code, code_ci, name, parent_id) VALUES (?, ?, ?, ?)",
                    (code_text, _ci(code_text), name_text, parent),
                )
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, code=code_text) from exc
            return str(cur.lastrowid)

    async def update_department(self, department_id: str, changes: dict[str, Any]) -> None:
        unknown = set(changes) - {"code", "name", "parent_id"}
        if unknown:
            raise LMSError(f"cannot update department field(s) {', '.join(sorted(unknown))}")
        with self._transaction() as conn:
            did = self._existing_department(conn, department_id)
            if did == self._root_id(conn):
                raise LMSError("the root department cannot be changed")
            sets: list[str] = []
            values: list[Any] = []
            if "code" in changes:
                code = _required_text(changes["code"], "department code")
                sets += ["code = ?", "code_ci = ?"]
                values += [code, _ci(code)]
            if "name" in changes:
                sets.append("name = ?")
                values.append(_required_text(changes["name"], "department name"))
            if "parent_id" in changes:
                new_parent = changes["parent_id"]
                parent = self._existing_department(conn, new_parent) if new_parent is not None else self._root_id(conn)
                cycle = conn.execute(
                    "WITH RECURSIVE up(id) AS (SELECT ? UNION"
                    " SELECT d.parent_id FROM departments d JOIN up ON d.id = up.id WHERE d.parent_id IS NOT NULL)"
                    " SELECT 1 FROM up WHERE id = ?",
                    (parent, did),
                ).fetchone()
                if cycle:
                    raise LMSError(
                        f"department {department_id} cannot be moved under department {new_parent}:"
                        " that is the department itself or one of its descendants"
                    )
                sets.append("parent_id = ?")
                values.append(parent)
            if not sets:
                return
            try:
                conn.execute(f"UPDATE departments SET {', '.join(sets)} WHERE id = ?", (*values, did))
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, code=changes.get("code")) from exc

    async def delete_department(self, department_id: str) -> None:
        with self._transaction() as conn:
            did = self._existing_department(conn, department_id)
            if did == self._root_id(conn):
                raise LMSError("the root department cannot be deleted")
            users = conn.execute("SELECT count(*) FROM users WHERE department_id = ?", (did,)).fetchone()[0]
            if users:
                raise LMSError(f"department {department_id} still has {users} user(s); move them first")
            children = conn.execute("SELECT count(*) FROM departments WHERE parent_id = ?", (did,)).fetchone()[0]
            if children:
                raise LMSError(
                    f"department {department_id} still has {children} child department(s); move or delete them first"
                )
            conn.execute("DELETE FROM departments WHERE id = ?", (did,))

    def _existing_department(self, conn: sqlite3.Connection, department_id: Any) -> int:
        did = _int_id(department_id)
        if did is None or conn.execute("SELECT 1 FROM departments WHERE id = ?", (did,)).fetchone() is None:
            raise LMSError(f"there is no department with id {department_id!r}")
        return did

    # ------------------------------------------------------------ user writes

    async def create_user(self, user: UserRecord) -> str:
        """`user.id` and the supervisor links are ignored (links are set with `set_supervisors`)."""
        login = _required_text(user.login, "login")
        email = _required_text(user.email, "email")
        status = _status(user.status)
        with self._transaction() as conn:
            dept = (
                self._existing_department(conn, user.department_id)
                if user.department_id is not None else self._root_id(conn)
            )
            try:
                cur = conn.execute(
                    "INSERT INTO users (login, login_ci, email, email_ci, first_name, last_name,"
                    " department_id, status, phone, job_title) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                    (login, _ci(login), email, _ci(email), _blank_none(user.firstName), _blank_none(user.lastName),
                     dept, status, _blank_none(user.phone), _blank_none(user.jobTitle)),
                )
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, login=login, email=email) from exc
            uid = cur.lastrowid
            fields = [(uid, _field_name(n), v) for n, v in user.custom.items() if _blank_none(v) is not None]
            if fields:
                conn.executemany("INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)", fields)
            return str(uid)

    async def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        """`changes` keys: UserRecord field names (supervisors as in `set_supervisors`),
        custom fields as `custom:<name>` (None or blank removes the value)."""
        with self._transaction() as conn:
            uid = self._existing_user(conn, user_id)
            sets: list[str] = []
            values: list[Any] = []
            field_set: list[tuple[int, str, str]] = []
            field_clear: list[tuple[int, str]] = []
            for key, value in changes.items():
                if key in ("login", "email"):
                    text = _required_text(value, key)
                    sets += [f"{key} = ?", f"{key}_ci = ?"]
                    values += [text, _ci(text)]
                elif key in _USER_TEXT_COLUMNS:
                    sets.append(f"{_USER_TEXT_COLUMNS[key]} = ?")
                    values.append(_blank_none(value))
                elif key == "department_id":
                    sets.append("department_id = ?")
                    values.append(self._existing_department(conn, value) if value is not None else self._root_id(conn))
                elif key == "status":
                    sets.append("status = ?")
                    values.append(_status(value))
                elif key in _SUPERVISOR_COLUMNS:
                    mode_col, id_col = _SUPERVISOR_COLUMNS[key]
                    mode, sid = self._supervisor_link(conn, uid, value, key)
                    sets += [f"{mode_col} = ?", f"{id_col} = ?"]
                    values += [mode, sid]
                elif key.startswith(CUSTOM_PREFIX):
                    name = _field_name(key.removeprefix(CUSTOM_PREFIX))
                    text = _blank_none(value)
                    if text is None:
                        field_clear.append((uid, name))
                    else:
                        field_set.append((uid, name, text))
                else:
                    raise LMSError(f"cannot update user field {key!r}")
            if sets:
                try:
                    conn.execute(f"UPDATE users SET {', '.join(sets)} WHERE id = ?", (*values, uid))
                except sqlite3.IntegrityError as exc:
                    raise _integrity_error(exc, login=changes.get("login"), email=changes.get("email")) from exc
            if field_set:
                conn.executemany(
                    "INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)"
                    " ON CONFLICT (user_id, name) DO UPDATE SET value = excluded.value",
                    field_set,
                )
            if field_clear:
                conn.executemany("DELETE FROM user_fields WHERE user_id = ? AND name = ?", field_clear)

    async def set_status(self, user_ids: list[str], status: str) -> None:
        value = _status(status)
        with self._transaction() as conn:
            ids = [self._existing_user(conn, u) for u in user_ids]
            conn.executemany("UPDATE users SET status = ? WHERE id = ?", [(value, i) for i in ids])

    async def set_supervisors(self, user_id: str, subordination: str | None, co_subordination: str | None) -> None:
        """Each link: None = inherited from the department, a user id, or NO_SUPERVISOR."""
        with self._transaction() as conn:
            uid = self._existing_user(conn, user_id)
            sm, sid = self._supervisor_link(conn, uid, subordination, "subordination")
            cm, cid = self._supervisor_link(conn, uid, co_subordination, "coSubordination")
            conn.execute(
                "UPDATE users SET sub_mode = ?, sub_id = ?, cosub_mode = ?, cosub_id = ? WHERE id = ?",
                (sm, sid, cm, cid, uid),
            )

    def _existing_user(self, conn: sqlite3.Connection, user_id: Any) -> int:
        uid = _int_id(user_id)
        if uid is None or conn.execute("SELECT 1 FROM users WHERE id = ?", (uid,)).fetchone() is None:
            raise LMSError(f"there is no user with id {user_id!r}")
        return uid

    def _supervisor_link(self, conn: sqlite3.Connection, uid: int, value: Any, what: str) -> tuple[str, int | None]:
        if value is None:
            return "inherit", None
        if value == NO_SUPERVISOR:
            return "none", None
        sid = self._existing_user(conn, value)
        if sid == uid:
            raise LMSError(f"user {uid} cannot be their own {'supervisor' if what == 'subordination' else 'functional manager'}")
        return "manual", sid

    # ------------------------------------------------------------ lms load / lms dump

    async def load(self, departments: list[dict], users: list[dict]) -> None:
        """Replace the whole contents (the root stays) with rows in the DESIGN §2 vocabulary.

        Every row is checked first; on any problem `LMSError` lists them (with
        spreadsheet row numbers: a row's `__row` when given, else its position + 1
        for the header) and nothing is written.

        A blank `departmentId` puts the user in the root; a blank status is active.
        Supervisors: None = inherited, a login = that user, "" (empty string,
        as `dump` writes it) = no supervisor.
        """
        dept_rows, user_rows = _validate_load(departments, users)
        with self._transaction() as conn:
            root = self._root_id(conn)
            conn.execute("PRAGMA defer_foreign_keys = ON")  # supervisors may point forward
            # A whole new state: the snapshot token's per-row triggers would only slow the bulk
            # writes down. They are dropped and recreated inside this transaction (DDL is
            # transactional), so no other connection ever sees the tables without them.
            for name in _TOKEN_TRIGGERS:
                conn.execute(f"DROP TRIGGER IF EXISTS {name}")
            conn.execute("DELETE FROM user_fields")
            conn.execute("DELETE FROM users")
            conn.execute("DELETE FROM departments WHERE is_root = 0")
            ids: dict[str, int] = {}
            for code, name, parent_ci in dept_rows:  # parents first
                cur = conn.execute(
                    "INSERT INTO departments (code, code_ci, name, parent_id) VALUES (?, ?, ?, ?)",
                    (code, _ci(code), name, root if parent_ci is None else ids[parent_ci]),
                )
                ids[_ci(code)] = cur.lastrowid  # type: ignore[assignment]
            row = conn.execute("SELECT seq FROM sqlite_sequence WHERE name = 'users'").fetchone()
            first = (row[0] if row else 0) + 1
            user_ids = {u[0]: first + i for i, u in enumerate(user_rows)}

            def link(value: str | None) -> tuple[str, int | None]:
                if value is None:
                    return "inherit", None
                if value == "":
                    return "none", None
                return "manual", user_ids[value]

            conn.executemany(
                "INSERT INTO users (id, login, login_ci, email, email_ci, first_name, last_name, department_id,"
                " status, sub_mode, sub_id, cosub_mode, cosub_id, phone, job_title)"
                " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    (user_ids[lci], login, lci, email, _ci(email), first, last,
                     root if dept is None else ids[dept], status, *link(sub), *link(cosub), phone, job)
                    for lci, login, email, first, last, dept, status, sub, cosub, phone, job, _ in user_rows
                ),
            )
            conn.executemany(
                "INSERT INTO user_fields (user_id, name, value) VALUES (?, ?, ?)",
                ((user_ids[u[0]], name, value) for u in user_rows for name, value in u[-1]),
            )
            for create in _TOKEN_TRIGGERS.values():
                conn.execute(create)

    async def dump(self) -> dict[str, list[dict[str, Any]]]:
        """The contents in the DESIGN §2 `lms dump --json` vocabulary, root left out.

        Departments parents first, then by code; users by login; `custom` holds
        the non-null values, keys sorted. A supervisor link is the login (manual),
        null (inherited) or "" (no supervisor: `dump` has no other word for it,
        and `load` reads "" back as no supervisor).
        """
        with self._reading() as conn:
            if conn is None:
                return {"departments": [], "users": []}
            root = self._root_id(conn)
            dept_rows = conn.execute("SELECT id, code, name, parent_id FROM departments WHERE is_root = 0").fetchall()
            user_rows = conn.execute(
                "SELECT id, login, email, first_name, last_name, department_id, status,"
                " sub_mode, sub_id, cosub_mode, cosub_id, phone, job_title FROM users"
            ).fetchall()
            field_rows = conn.execute("SELECT user_id, name, value FROM user_fields ORDER BY user_id, name").fetchall()
        by_id = {r[0]: r for r in dept_rows}

        def depth(did: int) -> int:
            n = 0
            while did != root and did in by_id:
                did = by_id[did][3]
                n += 1
            return n

        codes = {did: code for did, code, _, _ in dept_rows}
        departments = [
            {"id": str(did), "code": code, "name": name, "parentCode": codes.get(parent)}
            for did, code, name, parent in sorted(dept_rows, key=lambda r: (depth(r[0]), r[1].lower(), r[1]))
        ]
        logins = {r[0]: r[1] for r in user_rows}
        custom: dict[int, dict[str, str]] = {}
        for uid, name, value in field_rows:
            custom.setdefault(uid, {})[name] = value

        def link(mode: str, sid: int | None) -> str | None:
            return logins.get(sid) if mode == "manual" else ("" if mode == "none" else None)

        users = [
            {
                "id": str(uid), "login": login, "email": email, "firstName": first, "lastName": last,
                "departmentId": codes.get(dept), "status": status,
                "subordination": link(sm, sid), "coSubordination": link(cm, cid),
                "phone": phone, "jobTitle": job, "custom": custom.get(uid, {}),
            }
            for uid, login, email, first, last, dept, status, sm, sid, cm, cid, phone, job
            in sorted(user_rows, key=lambda r: (r[1].lower(), r[1]))
        ]
        return {"departments": departments, "users": users}


# ---------------------------------------------------------------- helpers


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


def _read_users(conn: sqlite3.Connection) -> tuple[pl.DataFrame, pl.DataFrame]:
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
        users.append(_read_columns(
            conn, "(SELECT * FROM users WHERE id BETWEEN ? AND ? ORDER BY id)", _USER_COLUMNS, (lo, hi)))
        fields.append(_read_columns(
            conn, "user_fields WHERE user_id BETWEEN ? AND ?", _FIELD_COLUMNS, (lo, hi)))
        last = hi
    empty = {name: dtype for _, name, dtype in _USER_COLUMNS}
    return (
        pl.concat(users) if users else pl.DataFrame(schema=empty),
        pl.concat(fields) if fields else pl.DataFrame(schema={n: d for _, n, d in _FIELD_COLUMNS}),
    )


def _users_frame(users: pl.DataFrame, fields: pl.DataFrame, root: int) -> pl.DataFrame:
    """The snapshot's users (USER_SCHEMA, then the custom fields) from the rows of `users` and `user_fields`."""
    custom_columns: list[str] = []
    if fields.height:
        wide = fields.with_columns(name=pl.lit(CUSTOM_PREFIX) + pl.col("name")).pivot(
            on="name", index="user_id", values="value",
        )
        custom_columns = sorted(c for c in wide.columns if c != "user_id")
        users = users.join(
            wide.select("user_id", *custom_columns), left_on="id", right_on="user_id",
            how="left", maintain_order="left",
        )
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


# The snapshot cache: `<database>.snapshot-v1-<token hex>.arrow` (v1: the layout of `_users_frame`).
SNAPSHOT_CACHE_MIN_USERS = 20_000  # smaller snapshots read fast enough; they leave no file behind
_CACHE_INFIX = ".snapshot-v1-"


def _snapshot_token(conn: sqlite3.Connection) -> bytes | None:
    """The database's snapshot token; None when it has none (no write since it changed, or an old file)."""
    try:
        row = conn.execute("SELECT token FROM snapshot_state WHERE id = 1").fetchone()
    except sqlite3.OperationalError:  # a database that predates the token
        return None
    token = row[0] if row else None
    return bytes(token) if isinstance(token, bytes) and len(token) == 16 else None


def _read_cache(path: Path, conn: sqlite3.Connection) -> pl.DataFrame | None:
    """The cached users frame, or None when there is none or it does not look whole."""
    try:
        if not path.is_file():
            return None
        users = pl.read_ipc(path)
    except Exception:  # unreadable or damaged: read the database instead
        return None
    schema = users.schema
    if list(schema)[:len(USER_SCHEMA)] != list(USER_SCHEMA) or any(
        dtype != pl.String for dtype in schema.values()
    ) or not all(c.startswith(CUSTOM_PREFIX) for c in list(schema)[len(USER_SCHEMA):]):
        return None
    if users.height != conn.execute("SELECT count(*) FROM users").fetchone()[0]:
        return None
    return users


def _write_cache(path: Path, users: pl.DataFrame) -> None:
    """Write the cache atomically (a reader sees a whole file or none), and drop older ones. Best effort:
    a folder that cannot be written only means no cache."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}-{os.urandom(4).hex()}.tmp")
    try:
        users.write_ipc(tmp, compression="lz4")
        fd = os.open(tmp, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
        os.replace(tmp, path)
        prefix = path.name[:path.name.index(_CACHE_INFIX) + len(_CACHE_INFIX)]
        for old in path.parent.glob(glob.escape(prefix) + "*.arrow"):
            if old.name != path.name:
                old.unlink(missing_ok=True)
    except Exception:
        try:
            tmp.unlink(missing_ok=True)
        except OSError:
            pass


def _unless_root(column: str, root: int) -> pl.Expr:
    """An Int64 department reference as text, null for the root."""
    return pl.when(pl.col(column) != root).then(pl.col(column).cast(pl.String)).alias(column)


def _supervisor(mode: str, sid: str) -> pl.Expr:
    return (
        pl.when(pl.col(mode) == "manual").then(pl.col(sid).cast(pl.String))
        .when(pl.col(mode) == "none").then(pl.lit(NO_SUPERVISOR))
        .otherwise(pl.lit(None, dtype=pl.String))
    )


def _supervisor_value(mode: str, sid: int | None) -> str | None:
    if mode == "manual":
        return str(sid)
    return NO_SUPERVISOR if mode == "none" else None


def _root_record() -> DepartmentRecord:
    return DepartmentRecord(id=str(ROOT_ID), code=None, name=ROOT_NAME, parent_id=None)


def _required_text(value: Any, what: str) -> str:
    if value is None or not str(value).strip():
        raise LMSError(f"the {what} cannot be blank")
    return str(value)


def _field_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise LMSError(f"a custom field needs a name, not {name!r}")
    return name


def _status(value: Any) -> str:
    if value not in _STATUSES:
        raise LMSError(f"invalid status {value!r}: expected one of active, inactive, terminated")
    return str(value)


def _lms_error(exc: sqlite3.Error) -> LMSError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return LMSError(f"the embedded LMS database is busy ({text})", hint="another tui_sync may be writing; try again")
    return LMSError(f"the embedded LMS database refused the change: {text}")


def _integrity_error(exc: sqlite3.IntegrityError, *, code: Any = None, login: Any = None, email: Any = None) -> LMSError:
    text = str(exc)
    if "code_ci" in text:
        return LMSError(f"department code {code!r} is already taken")
    if "login_ci" in text:
        return LMSError(f"login {login!r} is already taken")
    if "email_ci" in text:
        return LMSError(f"email {email!r} is already taken")
    return _lms_error(exc)


# ---------------------------------------------------------------- load validation

_DeptRow = tuple[str, str, str | None]  # code, name, parent code (lowered) — parents first
# login_ci, login, email, first, last, dept code_ci, status, sub login_ci|""|None, cosub, phone, job, custom items
_UserRow = tuple[str, str, str, str | None, str | None, str | None, str, str | None, str | None,
                 str | None, str | None, list[tuple[str, str]]]


def _row_number(row: Mapping[str, Any], index: int) -> int:
    number = row.get(ROW)
    return number if isinstance(number, int) else index + 2


def _validate_load(
    departments: Sequence[Mapping[str, Any]], users: Sequence[Mapping[str, Any]]
) -> tuple[list[_DeptRow], list[_UserRow]]:
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
        code = _blank_none(d.get("code"))
        name = _blank_none(d.get("name"))
        parent = _blank_none(d.get("parentCode"))
        if code is None:
            problems.append(f"{where}: code is blank")
            continue
        if name is None:
            problems.append(f"{where}: name of department {code!r} is blank")
        key = _ci(code)
        if key in seen_codes:
            problems.append(f"{where}: department code {code!r} is already used on row {seen_codes[key]}")
            continue
        seen_codes[key] = row
        parsed[key] = (row, code, name or "", None if parent is None else _ci(parent), parent)
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
        login = _blank_none(u.get("login"))
        email = _blank_none(u.get("email"))
        if login is None:
            problems.append(f"{where}: login is blank")
        if email is None:
            problems.append(f"{where}: email of {login!r} is blank")
        if login is None or email is None:
            continue
        lci, eci = _ci(login), _ci(email)
        if lci in seen_logins:
            problems.append(f"{where}: login {login!r} is already used on row {seen_logins[lci]}")
            continue
        seen_logins[lci] = row
        if eci in seen_emails:
            problems.append(f"{where}: email {email!r} is already used on row {seen_emails[eci]}")
        seen_emails.setdefault(eci, row)
        dept = _blank_none(u.get("departmentId"))
        if dept is not None and _ci(dept) not in parsed:
            problems.append(f"{where}: unknown departmentId {dept!r} for user {login!r}")
        raw_status = u.get("status")
        status_text = _blank_none(raw_status)
        status = "active" if status_text is None else _STATUS_WORDS.get(_ci(status_text))
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
                links.append(_ci(str(value)))
                supervisors.append((where, fld, str(value), lci, login))
        custom = u.get("custom") or {}
        if not isinstance(custom, Mapping):
            problems.append(f"{where}: custom must be a mapping of field name to value, not {custom!r}")
            custom = {}
        fields = []
        for name, value in sorted(custom.items()):
            if not isinstance(name, str) or not name.strip():
                problems.append(f"{where}: a custom field needs a name, not {name!r}")
            elif _blank_none(value) is not None:
                fields.append((name, str(value)))
        out.append((
            lci, login, email, _blank_none(u.get("firstName")), _blank_none(u.get("lastName")),
            None if dept is None else _ci(dept), status, links[0], links[1],
            _blank_none(u.get("phone")), _blank_none(u.get("jobTitle")), fields,
        ))
    for where, fld, value, own, login in supervisors:
        if _ci(value) not in seen_logins:
            problems.append(f"{where}: unknown {fld} login {value!r} for user {login!r}")
        elif _ci(value) == own:
            problems.append(f"{where}: user {login!r} cannot be their own {fld}")

    if problems:
        listed = problems[:_MAX_LISTED_PROBLEMS]
        more = len(problems) - len(listed)
        text = "\n".join(listed) + (f"\n… and {more} more" if more else "")
        raise LMSError(
            f"cannot load: {len(problems)} problem(s)\n{text}",
            hint="nothing was loaded; fix the files and load again",
        )
    return order, out
