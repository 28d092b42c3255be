"""Apply at wave granularity (A2): the reads behind a chunk's checks in one batched read, and the
writes that an LMS can make in bulk grouped per kind.

What an LMS offers beyond the calls every LMS answers is in its `abilities` (`lms.base.Abilities`):
`read_users` (the users of a chunk's checks in as few requests as it can), `read_departments`
(every department, once per run, kept current from the run's own writes), `create_users`,
`update_users`, `move_users` (bulk writes); `set_status` always takes many ids, `status_batch` of
them per call. Without them apply asks and writes change by change.
"""
from __future__ import annotations

import asyncio
from typing import Any, NamedTuple

from ..errors import LMSError
from ..lms.base import LMS, DepartmentRecord, UserRecord


class Write(NamedTuple):
    """A checked write left for its chunk's grouped call: `op` is status, move, create or update;
    `group` the status or the target department id; `item` a user id, a record or (id, changes).
    (A named tuple: one is made per change, and a tuple is made fastest.)"""
    op: str
    group: Any
    item: Any


def _fold(value: str | None) -> str | None:
    return value.strip().casefold() if value else None


class Reads:
    """The LMS reads of the A2/A4 checks, answered from one batched read per chunk where the LMS
    can make one, and from one read of the departments per run where it offers that."""

    def __init__(self, lms: LMS, account_users: int | None = None) -> None:
        self.lms = lms
        self.account_users = account_users
        self.bulk = lms.abilities.read_users
        self._ids: dict[str, UserRecord | None] = {}
        self._logins: dict[str, UserRecord | None] = {}
        self._emails: dict[str, UserRecord | None] = {}
        self._where: dict[str, list[tuple[dict[str, UserRecord | None], str]]] = {}  # user id -> its entries
        self._departments: dict[str, DepartmentRecord] | None = None
        self._codes: dict[str, str] = {}  # folded code -> id
        self._departments_lock = asyncio.Lock()  # the changes of a wave ask at once: read once

    # ---- users: one read per chunk

    async def prefetch(self, ids: set[str], logins: set[str], emails: set[str]) -> None:
        self.clear()
        if not self.bulk or not (ids or logins or emails):
            return
        await self._all_departments()  # (an LMS learns its root from them, so the users read needs no more)
        found = await self.lms.read_users(ids=sorted(ids), logins=sorted(logins), emails=sorted(emails),
                                          account_users=self.account_users)
        self._ids = dict.fromkeys(ids)
        self._logins = dict.fromkeys(filter(None, map(_fold, logins)))
        self._emails = dict.fromkeys(filter(None, map(_fold, emails)))
        for u in found:
            for table, key in ((self._ids, u.id), (self._logins, _fold(u.login)), (self._emails, _fold(u.email))):
                if key in table:
                    table[key] = u
                    self._where.setdefault(u.id, []).append((table, key))

    def clear(self) -> None:
        self._ids, self._logins, self._emails, self._where = {}, {}, {}, {}

    def written(self, user_ids: set[str]) -> None:
        """These users were written since the chunk's read: ask the LMS about them again. (In the
        order of the users written, not of the chunk's read: a chain of users, each waiting for the
        last, writes one at a time.)"""
        for uid in user_ids:
            self._ids.pop(uid, None)
            for table, key in self._where.pop(uid, ()):
                table.pop(key, None)

    async def get_user(self, user_id: str) -> UserRecord | None:
        if user_id in self._ids:
            return self._ids[user_id]
        return await self.lms.get_user(user_id)

    async def find_user(self, *, login: str | None = None, email: str | None = None) -> UserRecord | None:
        """As `LMS.find_user`: by login or, failing that, by email."""
        key_login, key_email = _fold(login), _fold(email)
        if (key_login is None or key_login in self._logins) and (key_email is None or key_email in self._emails):
            found = self._logins.get(key_login) if key_login else None
            return found or (self._emails.get(key_email) if key_email else None)
        return await self.lms.find_user(login=login, email=email)

    # ---- departments: one read per run, kept current

    async def _all_departments(self) -> dict[str, DepartmentRecord] | None:
        if self._departments is None and self.lms.abilities.read_departments:
            async with self._departments_lock:
                if self._departments is None:
                    known = {d.id: d for d in await self.lms.read_departments()}
                    self._codes = {_fold(d.code) or "": d.id for d in known.values() if d.code}
                    self._departments = known
        return self._departments

    async def get_department(self, department_id: str) -> DepartmentRecord | None:
        known = await self._all_departments()
        if known is None:
            return await self.lms.get_department(department_id)
        return known.get(department_id)

    async def find_department(self, code: str) -> DepartmentRecord | None:
        known = await self._all_departments()
        if known is None:
            return await self.lms.find_department(code)
        found = self._codes.get(_fold(code) or "")
        return known.get(found) if found else None

    def department_written(self, department_id: str, record: DepartmentRecord | None) -> None:
        """The run wrote this department (None: deleted it)."""
        if self._departments is None:
            return
        old = self._departments.pop(department_id, None)
        if old is not None and old.code:
            self._codes.pop(_fold(old.code) or "", None)
        if record is not None:
            self._departments[department_id] = record
            if record.code:
                self._codes[_fold(record.code) or ""] = department_id


async def write_grouped(lms: LMS, op: str, group: Any, items: list[Any]) -> list[Any]:
    """One grouped write: the ids written, or per item the error. A bulk status or move that
    fails is tried again one user at a time, so that each user gets their own outcome."""
    try:
        if op == "create":
            return await lms.create_users(items)
        if op == "update":
            return await lms.update_users(items)
        if op == "move":
            await lms.move_users(items, group)
        else:
            await lms.set_status(items, group)
        return items
    except LMSError as e:
        if len(items) == 1 or op in ("create", "update"):
            return [e] * len(items)
    except Exception as e:  # A4: fails alone, with its reason
        return [LMSError(f"cannot be applied: {type(e).__name__}: {e}")] * len(items)
    return [answer for item in items for answer in await write_grouped(lms, op, group, [item])]
