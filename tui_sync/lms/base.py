"""The LMS interface (DESIGN §3): what the planner reads and what apply writes.

Two implementations: the embedded SQLite LMS (`embedded.py`) and the iSpring
Learn REST client (`ispring.py`). Everything here is async so that a network LMS
can run writes concurrently; the embedded one simply answers at once.

Beyond the calls every LMS answers, an LMS may offer batched reads, bulk writes and
a journal kept in its own transactions. Each implementation subclasses `LMS` and
declares what it offers in `abilities`; callers ask `lms.abilities`, never probe.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Iterable, Protocol

import polars as pl

from ..errors import LMSError

# A supervisor link as the planner and apply see it: None = inherited from the
# department (iSpring `inherit`), a user id = that user (`manual`), or
# NO_SUPERVISOR (iSpring `no_supervisor`).
NO_SUPERVISOR = "\x00none"

DEPARTMENT_SCHEMA: dict[str, Any] = {
    "id": pl.String, "code": pl.String, "name": pl.String, "parent_id": pl.String,
}
USER_SCHEMA: dict[str, Any] = {
    "id": pl.String, "login": pl.String, "email": pl.String, "firstName": pl.String,
    "lastName": pl.String, "department_id": pl.String, "status": pl.String,
    "subordination": pl.String, "coSubordination": pl.String, "phone": pl.String,
    "jobTitle": pl.String,
}
CUSTOM_PREFIX = "custom:"


@dataclass(frozen=True)
class Snapshot:
    """The LMS as it is now, as polars frames (all text).

    - `departments`: DEPARTMENT_SCHEMA, the root left out; `parent_id` null = top level.
    - `users`: USER_SCHEMA plus one column `custom:<name>` per custom field;
      `department_id` null = the root; `status` is a `Status` value;
      `subordination` / `coSubordination` hold a user id, null (inherited) or NO_SUPERVISOR.
    """

    root_id: str
    departments: pl.DataFrame
    users: pl.DataFrame
    custom_fields: tuple[str, ...] = ()
    # U1: fields the LMS itself requires beyond the standard ones (iSpring isRequired).
    required_fields: tuple[str, ...] = ()
    # Custom fields the LMS knows (None = it accepts any name, as the embedded LMS does).
    known_custom_fields: tuple[str, ...] | None = None


@dataclass(frozen=True)
class DepartmentRecord:
    id: str
    code: str | None
    name: str
    parent_id: str | None  # None = top level


@dataclass(frozen=True)
class UserRecord:
    id: str
    login: str
    email: str
    firstName: str
    lastName: str
    department_id: str | None
    status: str
    subordination: str | None = None
    coSubordination: str | None = None
    phone: str | None = None
    jobTitle: str | None = None
    custom: dict[str, str | None] = field(default_factory=dict)


# One outcome of apply's journal (A2): change id, outcome (a `model.Outcome` value), error, LMS id.
JournalRow = tuple[str, str, str | None, str | None]


@dataclass(frozen=True)
class Abilities:
    """What an LMS offers beyond the calls every LMS answers (its declaration; the defaults are a
    plain network LMS that writes change by change).

    - `concurrent`: writes may be in flight together (a network LMS). False: it answers at once,
      so apply writes one change after another, a chunk per transaction.
    - `chunk`: changes per apply chunk: one batched read, one `batch()`, one journal write.
    - `status_batch`: user ids per `set_status` / `move_users` call.
    - `read_users`, `read_departments`: the batched reads of those names (A2 checks a chunk at once).
    - `create_users`, `update_users`, `move_users`: the bulk writes of those names.
    - `journal`: `journal` records apply's outcomes inside the transaction of `batch()`, so that each
      chunk's writes and their journal commit together (A2); `journaled` and `forget_journal` read
      and clear them. Without it, the run history journals each chunk before and after its writes.
    """

    concurrent: bool = True
    chunk: int = 500
    status_batch: int = 500
    read_users: bool = False
    read_departments: bool = False
    create_users: bool = False
    update_users: bool = False
    move_users: bool = False
    journal: bool = False


class LMS(Protocol):
    """What tui_sync needs from an LMS. Ids are opaque strings.

    The methods after `close` are optional. `warm` and `describe` do nothing unless an LMS has
    something to do; the others an LMS offers when its `abilities` say so (here they refuse).
    Both implementations subclass this protocol, so that they inherit these defaults."""

    abilities: Abilities = Abilities()

    async def snapshot(self) -> Snapshot: ...

    # reads used for the checks right before each write (A2)
    async def get_department(self, department_id: str) -> DepartmentRecord | None: ...
    async def find_department(self, code: str) -> DepartmentRecord | None: ...
    async def get_user(self, user_id: str) -> UserRecord | None: ...
    async def find_user(self, *, login: str | None = None, email: str | None = None) -> UserRecord | None: ...
    async def department_user_count(self, department_id: str) -> int: ...

    # writes
    async def create_department(self, *, code: str, name: str, parent_id: str | None) -> str: ...
    async def update_department(self, department_id: str, changes: dict[str, Any]) -> None:
        """`changes` keys: code, name, parent_id."""
    async def delete_department(self, department_id: str) -> None: ...
    async def create_user(self, user: UserRecord) -> str:
        """`user.id` is ignored; returns the new id. Supervisor links are set separately."""
    async def update_user(self, user_id: str, changes: dict[str, Any]) -> None:
        """`changes` keys: the UserRecord field names, custom fields as `custom:<name>`."""
    async def set_status(self, user_ids: list[str], status: str) -> None: ...
    async def set_supervisors(self, user_id: str, subordination: str | None, co_subordination: str | None) -> None: ...

    def batch(self) -> Any:
        """An async context manager grouping writes (a transaction for SQLite; a no-op for REST)."""

    async def close(self) -> None: ...

    # --- optional (see `abilities`) ----------------------------------------------

    async def warm(self) -> None:
        """After a run of writes: prepare for the next plan's snapshot (the embedded LMS rebuilds
        its snapshot cache). Best effort."""

    async def describe(self) -> dict[str, Any]:
        """For `check`: what the LMS says about itself beyond the snapshot's counts."""
        return {}

    async def read_users(self, *, ids: Iterable[str] = (), logins: Iterable[str] = (),
                         emails: Iterable[str] = (), account_users: int | None = None) -> list[UserRecord]:
        """`abilities.read_users`: the users with any of these ids, logins or emails, in as few
        requests as the LMS can (`account_users`: the users the LMS held when planned, or None)."""
        raise NotImplementedError

    async def read_departments(self) -> list[DepartmentRecord]:
        """`abilities.read_departments`: every department (apply reads them once per run)."""
        raise NotImplementedError

    async def create_users(self, users: list[UserRecord]) -> list[str | LMSError]:
        """`abilities.create_users`: many creates; per user the new id or why not."""
        raise NotImplementedError

    async def update_users(self, items: list[tuple[str, dict[str, Any]]]) -> list[str | LMSError]:
        """`abilities.update_users`: many `update_user`s; per user the id or why not."""
        raise NotImplementedError

    async def move_users(self, user_ids: list[str], department_id: str | None) -> None:
        """`abilities.move_users`: move users into a department (None: the root)."""
        raise NotImplementedError

    async def journal(self, run: str, rows: list[JournalRow]) -> None:
        """`abilities.journal`: record apply's outcomes for `run` (a key naming one run of one state
        folder) inside the open `batch()`, to commit with its writes (A2)."""
        raise NotImplementedError

    async def journaled(self, run: str) -> list[tuple[str, str, str | None, str | None, str]]:
        """`abilities.journal`: what `journal` recorded for `run`, each row with its time, oldest first
        (a later row of a change supersedes an earlier one)."""
        raise NotImplementedError

    async def forget_journal(self, run: str) -> None:
        """`abilities.journal`: drop what was recorded for `run` (the run history holds it now)."""
        raise NotImplementedError


@asynccontextmanager
async def no_batch() -> AsyncIterator[None]:
    yield
