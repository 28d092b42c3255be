"""The embedded LMS: departments and users in one SQLite file (DESIGN §3).

The default LMS for demos, tests and rehearsals. It behaves like a real LMS
where that matters to a sync: logins, emails and department codes are unique
regardless of case, departments form one tree under a root that cannot be
changed or deleted, and a department that still has users or child
departments cannot be deleted. Such refusals raise `LMSError`.

A missing database file is an empty LMS that holds only the root. Reading it
(`snapshot`, `dump`, `get_*`, `find_*`) does not create the file; the first
write or `load` does.

Every write transaction replaces the database's snapshot token, which names the
state a large snapshot's cache file holds (`snapshot_cache`). The tables are in
`embedded_schema`, their snapshot frames in `embedded_frames`, `lms load` in
`embedded_load`, apply's set-based SQL in `embedded_bulk` and its journal, kept in
the transactions of its writes (A2), in `embedded_journal`.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Iterator
from contextlib import asynccontextmanager, contextmanager
from pathlib import Path
from typing import Any, AsyncIterator

import polars as pl

from ..errors import LMSError
from ..files import create_private, disk_nearly_full
from ..frame_cache import renew_token
from .base import (
    CUSTOM_PREFIX,
    DEPARTMENT_SCHEMA,
    LMS,
    NO_SUPERVISOR,
    USER_SCHEMA,
    Abilities,
    DepartmentRecord,
    JournalRow,
    Snapshot,
    UserRecord,
)
from . import embedded_bulk, embedded_journal
from .embedded_frames import (
    departments_frame,
    read_departments,
    read_users,
    users_frame,
)
from .embedded_load import LoadRefused, checked_users, prepare_users, replace_contents, validate_load
from .embedded_schema import (
    ROOT_ID,
    ROOT_NAME,
    STATUSES,
    TOKEN_TABLE,
    blank_none,
    ci,
    ensure_schema,
    token_triggers_paused,
    upgrade_schema,
)
from .sheets import user_rows
from .snapshot_cache import (
    SNAPSHOT_CACHE_MIN_USERS,
    cache_path,
    read_cache,
    snapshot_token,
    write_cache,
)

BUSY_TIMEOUT_MS = 10_000

# UserRecord field -> users column, for the plain text fields of `update_user`.
_USER_TEXT_COLUMNS = {
    "firstName": "first_name", "lastName": "last_name", "phone": "phone", "jobTitle": "job_title",
}
_SUPERVISOR_COLUMNS = {"subordination": ("sub_mode", "sub_id"), "coSubordination": ("cosub_mode", "cosub_id")}


def _int_id(value: Any) -> int | None:
    if type(value) is str and value.isdigit():  # (the common case, asked of every change: first)
        return int(value)
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return None


class EmbeddedLMS(LMS):
    """The LMS interface (`tui_sync.lms.base.LMS`) over one SQLite file.

    `create=False` refuses to create a missing file: writes then raise
    `LMSError` (reads still see an empty LMS holding only the root).

    Every method answers synchronously. One instance serves one caller at a
    time (one event loop); it may move between threads.
    """

    # answers at once: apply runs its writes one after another, 5,000 changes per transaction (set-based
    # writes make a large one cheap)
    # and keeps apply's journal in the transactions of its writes
    abilities = Abilities(concurrent=False, chunk=5000, read_users=True, create_users=True, update_users=True,
                          journal=True)

    def __init__(self, path: Path, *, create: bool = True) -> None:
        self.path = Path(path)
        self._create = create
        self._conn: sqlite3.Connection | None = None
        self._depth = 0  # open transactions: 0 = none, 1 = BEGIN, >1 = savepoints
        self._journal_rows = 0  # rows of apply's journal changed in the open transaction (no new state)
        self._upgraded = False  # the schema is this version's (checked in the first write of each connection)

    # ------------------------------------------------------------ connection

    def _open(self, *, for_write: bool) -> sqlite3.Connection | None:
        """The connection, opening the file on first use; None for a read of a missing file."""
        if self._conn is not None:
            return self._conn
        if self.path.exists() and not self.path.is_file():  # SQLite would leave `<device>-journal` beside it
            raise LMSError("the embedded LMS path is not a regular file (a device, a FIFO or a folder)",
                           where=str(self.path), hint="set [lms] path to a .sqlite file (it is created if missing)")
        if not self.path.exists():
            if not for_write:
                return None
            if not self._create:
                raise LMSError(
                    f"there is no embedded LMS database at {self.path}",
                    hint="check [lms] path in the config, or run `tui-sync lms load` to create one",
                )
            self.path.parent.mkdir(parents=True, exist_ok=True)
            create_private(self.path)  # it holds personal data: 0600, as its journal files (O2)
        try:
            conn = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
        except sqlite3.Error as exc:
            raise self._open_error(exc) from exc
        try:
            conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            conn.execute("PRAGMA foreign_keys = ON")
            ensure_schema(conn, str(self.path))
            conn.execute("PRAGMA synchronous = NORMAL")
        except sqlite3.Error as exc:
            conn.close()
            raise self._open_error(exc) from exc
        except BaseException:
            conn.close()
            raise
        self._conn = conn
        return conn

    def _open_error(self, exc: sqlite3.Error) -> LMSError:
        if _full(exc) or ("disk i/o error" in str(exc).lower() and disk_nearly_full(self.path.parent)):
            return LMSError("cannot open the embedded LMS database: its disk is full", where=str(self.path),
                            hint=f"free space on the disk that holds {self.path.parent}, then run the command again")
        return LMSError(f"cannot open the embedded LMS database: {exc}", where=str(self.path),
                        hint="check that [lms] path names the embedded LMS's .sqlite file (not another file) and "
                             "that it is readable and writable; a damaged one can be restored from a backup")

    def _error(self, exc: sqlite3.Error) -> LMSError:
        error = _lms_error(exc)
        error.where = error.where or str(self.path)
        return error

    @contextmanager
    def _transaction(self) -> Iterator[sqlite3.Connection]:
        """A write transaction, or a savepoint inside one (a batch): all or nothing."""
        conn = self._open(for_write=True)
        assert conn is not None
        depth = self._depth
        try:
            conn.execute("BEGIN IMMEDIATE" if depth == 0 else f"SAVEPOINT s{depth}")
        except sqlite3.Error as exc:
            raise self._error(exc) from exc
        self._depth = depth + 1
        try:
            if depth == 0:
                if not self._upgraded:
                    upgrade_schema(conn)
                    self._upgraded = True
                changes_before = conn.total_changes
                self._journal_rows = 0
            yield conn
            if depth == 0 and conn.total_changes - self._journal_rows != changes_before:
                # a new state: a new snapshot token, committed with it (apply's journal is no new state)
                renew_token(conn, TOKEN_TABLE)
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
                raise self._error(exc) from exc
            raise
        else:
            self._depth = depth
            try:
                conn.execute("COMMIT" if depth == 0 else f"RELEASE s{depth}")
            except sqlite3.Error as exc:
                if depth == 0 and conn.in_transaction:  # (SQLite has rolled back itself on a full disk)
                    conn.execute("ROLLBACK")
                raise self._error(exc) from exc

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
            raise self._error(exc) from exc

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

    # ------------------------------------------------------------ apply's journal (A2)

    async def journal(self, run: str, rows: list[JournalRow]) -> None:
        """Record apply's outcomes for `run` in the open batch's transaction: they commit with the
        writes they record, or neither does (`embedded_journal`)."""
        with self._transaction() as conn:
            self._journal_rows += embedded_journal.write(conn, run, rows)

    async def journaled(self, run: str) -> list[tuple[str, str, str | None, str | None, str]]:
        with self._reading() as conn:
            return [] if conn is None else embedded_journal.read(conn, run)

    async def forget_journal(self, run: str) -> None:
        if not self.path.exists():  # (nothing to forget, and no file to create for it)
            return
        with self._transaction() as conn:
            self._journal_rows += embedded_journal.forget(conn, run)

    async def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
            self._depth = 0
            self._upgraded = False

    # ------------------------------------------------------------ snapshot

    async def snapshot(self) -> Snapshot:
        with self._reading() as conn:
            if conn is None:
                return Snapshot(
                    root_id=str(ROOT_ID), departments=pl.DataFrame(schema=DEPARTMENT_SCHEMA),
                    users=pl.DataFrame(schema=USER_SCHEMA), known_custom_fields=None,
                )
            root = self._root_id(conn)
            departments = read_departments(conn)
            # (inside a batch the state is not committed: its token names the state before it)
            token = snapshot_token(conn) if not self._depth else None
            cache = cache_path(self.path, token) if token is not None else None
            users = read_cache(cache, conn) if cache is not None else None
            if users is None:
                raw, fields = read_users(conn)
        departments = departments_frame(departments, root)
        if users is None:
            users = users_frame(raw, fields, root)
            del raw, fields
            if cache is not None and users.height >= SNAPSHOT_CACHE_MIN_USERS:
                write_cache(cache, users)
        custom_columns = users.columns[len(USER_SCHEMA):]
        return Snapshot(
            root_id=str(root), departments=departments, users=users,
            custom_fields=tuple(c.removeprefix(CUSTOM_PREFIX) for c in custom_columns),
            known_custom_fields=None,
        )

    async def warm(self) -> None:
        """After a run of writes: rebuild the snapshot cache now, so that the next plan reads it
        instead of SQLite (a large LMS only; a small one has no cache). Best effort: the writes are
        done, and a database that cannot be read now is reported by the next plan."""
        try:
            with self._reading() as conn:
                if conn is None:
                    return
                n = conn.execute("SELECT count(*) FROM users").fetchone()[0]
            if n >= SNAPSHOT_CACHE_MIN_USERS:
                await self.snapshot()
        except (LMSError, sqlite3.Error):
            pass

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
            return self._department(conn, "code_ci = ?", ci(code))

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
                found = self._user(conn, "login_ci = ?", ci(login))
                if found is not None:
                    return found
            if email and email.strip():
                return self._user(conn, "email_ci = ?", ci(email))
            return None

    def _user(self, conn: sqlite3.Connection, where: str, value: Any) -> UserRecord | None:
        row = conn.execute(
            f"SELECT {embedded_bulk.USER_COLUMNS} FROM users WHERE {where}", (value,),
        ).fetchone()
        if row is None:
            return None
        custom = dict(conn.execute(
            "SELECT name, value FROM user_fields WHERE user_id = ? ORDER BY name", (row[0],)
        ).fetchall())
        return _user_record(row, custom, self._root_id(conn))

    async def read_users(self, *, ids: Iterable[str] = (), logins: Iterable[str] = (),
                         emails: Iterable[str] = (), account_users: int | None = None) -> list[UserRecord]:
        """The users with any of these ids, logins or emails (case-insensitive): apply's checks
        of a chunk in one query per kind of key (A2). (`account_users` is for LMSs whose reads
        cost requests; a local query needs no choice.)"""
        with self._reading() as conn:
            if conn is None:
                return []
            rows, custom = embedded_bulk.user_rows(
                conn, [i for i in map(_int_id, ids) if i is not None],
                [ci(v) for v in logins if v and v.strip()], [ci(v) for v in emails if v and v.strip()])
            root = self._root_id(conn)
            return [_user_record(row, custom.get(uid, {}), root) for uid, row in rows.items()]

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
                    (code_text, ci(code_text), name_text, parent),
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
                values += [code, ci(code)]
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
        row, fields = _new_user_row(user)
        with self._transaction() as conn:
            dept = (
                self._existing_department(conn, user.department_id)
                if user.department_id is not None else self._root_id(conn)
            )
            try:
                return str(embedded_bulk.insert_users(conn, [(*row[:6], dept, *row[7:])], [fields])[0])
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, login=row[0], email=row[2]) from exc

    async def create_users(self, users: list[UserRecord]) -> list[str | LMSError]:
        """Many creates in one set-based insert (apply's chunks): per user the new id, or why not.
        Should the insert be refused (a login taken meanwhile, a department gone), each user is
        created on its own, so that each gets its own answer."""
        try:
            with self._transaction() as conn:
                root = self._root_id(conn)
                prepared = [_new_user_row(u) for u in users]
                rows = [(*r[:6], root if u.department_id is None else _int_id(u.department_id), *r[7:])
                        for u, (r, _) in zip(users, prepared)]
                if any(r[6] is None for r in rows) or embedded_bulk.missing(conn, "departments", (r[6] for r in rows)):
                    raise _OneByOne
                with token_triggers_paused(conn, len(rows)):
                    return [str(i) for i in embedded_bulk.insert_users(conn, rows, [f for _, f in prepared])]
        except (LMSError, _OneByOne):
            pass
        answers: list[str | LMSError] = []
        for u in users:
            try:
                answers.append(await self.create_user(u))
            except LMSError as e:
                answers.append(e)
        return answers

    async def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        """`changes` keys: UserRecord field names (supervisors as in `set_supervisors`),
        custom fields as `custom:<name>` (None or blank removes the value)."""
        with self._transaction() as conn:
            uid = self._existing_user(conn, user_id)
            columns, field_set, field_clear = self._user_changes(conn, uid, changes, check=True)
            try:
                embedded_bulk.update_users(conn, [(uid, columns)], field_set, field_clear)
            except sqlite3.IntegrityError as exc:
                raise _integrity_error(exc, login=changes.get("login"), email=changes.get("email")) from exc

    async def update_users(self, items: list[tuple[str, dict[str, Any]]]) -> list[str | LMSError]:
        """Many updates, one statement per shape of change (apply's chunks): per user the id, or
        why not. Should the set be refused, each user is updated on its own."""
        try:
            with self._transaction() as conn:
                ids = [_int_id(u) for u, _ in items]
                if None in ids or embedded_bulk.missing(conn, "users", ids):
                    raise _OneByOne
                sets, field_set, field_clear = [], [], []
                for uid, (_, changes) in zip(ids, items):
                    columns, fs, fc = self._user_changes(conn, uid, changes, check=False)
                    sets.append((uid, columns))
                    field_set += fs
                    field_clear += fc
                depts = {c["department_id"] for _, c in sets if "department_id" in c}
                if None in depts or embedded_bulk.missing(conn, "departments", depts):
                    raise _OneByOne
                with token_triggers_paused(conn, len(sets) + len(field_set) + len(field_clear)):
                    embedded_bulk.update_users(conn, sets, field_set, field_clear)
                return [str(uid) for uid in ids]
        except (LMSError, _OneByOne):
            pass
        answers: list[str | LMSError] = []
        for user_id, changes in items:
            try:
                await self.update_user(user_id, changes)
                answers.append(user_id)
            except LMSError as e:
                answers.append(e)
        return answers

    def _user_changes(self, conn: sqlite3.Connection, uid: int, changes: dict[str, Any], *, check: bool,
                      ) -> tuple[dict[str, Any], list[tuple[int, str, str]], list[tuple[int, str]]]:
        """One user's `changes` as users columns, custom fields to set and to clear. `check=False`
        leaves checking that a department exists to the caller (set-based)."""
        columns: dict[str, Any] = {}
        field_set: list[tuple[int, str, str]] = []
        field_clear: list[tuple[int, str]] = []
        for key, value in changes.items():
            if key in ("login", "email"):
                text = _required_text(value, key)
                columns[key], columns[f"{key}_ci"] = text, ci(text)
            elif key in _USER_TEXT_COLUMNS:
                columns[_USER_TEXT_COLUMNS[key]] = blank_none(value)
            elif key == "department_id":
                columns["department_id"] = (self._root_id(conn) if value is None else
                                            self._existing_department(conn, value) if check else _int_id(value))
            elif key == "status":
                columns["status"] = _status(value)
            elif key in _SUPERVISOR_COLUMNS:
                mode_col, id_col = _SUPERVISOR_COLUMNS[key]
                columns[mode_col], columns[id_col] = self._supervisor_link(conn, uid, value, key)
            elif key.startswith(CUSTOM_PREFIX):
                name = _field_name(key.removeprefix(CUSTOM_PREFIX))
                text = blank_none(value)
                if text is None:
                    field_clear.append((uid, name))
                else:
                    field_set.append((uid, name, text))
            else:
                raise LMSError(f"cannot update user field {key!r}")
        return columns, field_set, field_clear

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

    async def load(self, departments: list[dict], users: list[dict] | pl.DataFrame,
                   custom: tuple[str, ...] = ()) -> None:
        """Replace the whole contents (the root stays) with rows in the DESIGN §2 vocabulary.

        Every row is checked first; on any problem `LMSError` lists them (with
        spreadsheet row numbers: a row's `__row` when given, else its position + 1
        for the header) and nothing is written.

        A blank `departmentId` puts the user in the root; a blank status is active.
        Supervisors: None = inherited, a login = that user, "" (empty string,
        as `dump` writes it) = no supervisor.

        `users` may also be a users file as `sheets.read_users_frame` reads it (with
        its `custom` columns): checked with polars, as a million users should be.
        """
        prepared = None
        if isinstance(users, pl.DataFrame):
            try:
                dept_rows, _ = validate_load(departments, [])
                prepared = prepare_users(users, custom, {ci(code) for code, _, _ in dept_rows})
            except LoadRefused:
                pass
            if prepared is None:  # some row has a problem: name them all
                users = user_rows(users, custom)
        if prepared is None:
            dept_rows, rows = validate_load(departments, users)
            prepared = checked_users(rows)
        with self._transaction() as conn:
            root = self._root_id(conn)
            written = replace_contents(conn, root, dept_rows, *prepared)
        self._cache_written(root, *written)

    def _cache_written(self, root: int, users: pl.DataFrame, fields: pl.DataFrame) -> None:
        """A new state: the first plan after a large load reads the snapshot cache, made here from
        what was written rather than read back from SQLite. Best effort, as `warm`."""
        if users.height < SNAPSHOT_CACHE_MIN_USERS or self._depth:  # (inside a batch: nothing is committed yet)
            return
        try:
            with self._reading() as conn:
                token = snapshot_token(conn) if conn is not None else None
            if token is not None:
                write_cache(cache_path(self.path, token), users_frame(users, fields, root))
        except (LMSError, sqlite3.Error):
            pass

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


class _OneByOne(Exception):
    """A set-based write cannot go as one: each item is written on its own."""


def _new_user_row(user: UserRecord) -> tuple[tuple, list[tuple[str, str]]]:
    """A create's users row (department left as given) and custom fields, checked."""
    login = _required_text(user.login, "login")
    email = _required_text(user.email, "email")
    row = (login, ci(login), email, ci(email), blank_none(user.firstName), blank_none(user.lastName),
           user.department_id, _status(user.status), blank_none(user.phone), blank_none(user.jobTitle))
    return row, [(_field_name(n), v) for n, v in user.custom.items() if blank_none(v) is not None]


def _user_record(row: tuple, custom: dict[str, str], root: int) -> UserRecord:
    uid, login, email, first, last, dept, status, sm, sid, cm, cid, phone, job = row
    return UserRecord(
        id=str(uid), login=login, email=email, firstName=first, lastName=last,
        department_id=None if dept == root else str(dept), status=status,
        subordination=_supervisor_value(sm, sid), coSubordination=_supervisor_value(cm, cid),
        phone=phone, jobTitle=job, custom=custom,
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
    if value not in STATUSES:
        raise LMSError(f"invalid status {value!r}: expected one of active, inactive, terminated")
    return str(value)


def _full(exc: sqlite3.Error) -> bool:
    return "disk is full" in str(exc)


def _lms_error(exc: sqlite3.Error) -> LMSError:
    text = str(exc)
    if _full(exc):  # O3: each change fails alone, saying what to do
        return LMSError("the disk that holds the embedded LMS database is full",
                        hint="free space on it, then `tui-sync apply --resume` finishes this apply")
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
