"""The LMS interface (DESIGN §3): what the planner reads and what apply writes.

Two implementations: the embedded SQLite LMS (`embedded.py`) and, later, the
iSpring Learn REST client. Everything here is async so that a network LMS can
run writes concurrently; the embedded one simply answers at once.
"""
from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any, AsyncIterator, Protocol

import polars as pl

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


class LMS(Protocol):
    """What tui_sync needs from an LMS. Ids are opaque strings."""

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


@asynccontextmanager
async def no_batch() -> AsyncIterator[None]:
    yield
