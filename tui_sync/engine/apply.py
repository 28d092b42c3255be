"""Apply the approved changes of a plan (A1, A2), journaled so an interrupted
apply resumes without duplicates.

Every write is preceded by a check against the LMS as it is now: a change
whose object moved on since planning, or is no longer the object planned
(A4: its login, email, code or unique key), is `stale`; one whose effect is
already there (an earlier, interrupted attempt) counts as `applied`. This
makes the checks and the resume one mechanism: re-running a change is safe.
A change that cannot be applied for any other reason fails alone (A4).
"""
from __future__ import annotations

import asyncio
from collections import Counter
from dataclasses import dataclass, field
from typing import Any, Awaitable, Callable

from ..errors import LMSError
from ..lms.base import CUSTOM_PREFIX, LMS, NO_SUPERVISOR, DepartmentRecord, JournalRow, UserRecord
from ..model import A1_PHASES, USER_STANDARD_FIELDS, Change, Decision, Kind, Plan, Status
from ..plan_shape import change_problem
from .users import NO_SUPERVISOR_TEXT
from .wave import Reads, Write, write_grouped


def _with_links(phases: tuple[tuple[str, tuple[Kind, ...]], ...]) -> tuple[tuple[str, tuple[Kind, ...]], ...]:
    """A1's phases with the supervisor links right after the users': a link may name any user the
    users phase creates, so the links of the users' creates and updates wait for all of them."""
    out: list[tuple[str, tuple[Kind, ...]]] = []
    for name, kinds in phases:
        out.append((name, kinds))
        if name == "users":
            out.append(("links", kinds))
    return tuple(out)


PHASES = _with_links(A1_PHASES)
LINKS = ("subordination", "coSubordination")
USER_FIELD = {"departmentId": "department_id"}  # plan field -> LMS record field, where they differ
_IDENTITY_FIELDS = ("login", "email", "code")
_STANDARD = frozenset(USER_STANDARD_FIELDS)  # (asked of every field of every user change)
_ACTIVE = Status.ACTIVE.value


class Stale(Exception):
    """The LMS no longer matches what the change was planned against (A2)."""


class Blocked(Exception):
    """A change this one depends on was not applied."""


@dataclass(slots=True)
class Outcome:
    change: Change
    outcome: str  # applied | failed | stale | blocked
    error: str | None = None
    lms_id: str | None = None


@dataclass
class Progress:
    total: int
    done: int = 0
    counts: Counter = field(default_factory=Counter)
    last_error: str | None = None


Journal = Callable[[list[JournalRow]], None]


def selected(plan: Plan) -> tuple[list[Change], dict[str, str]]:
    """The changes to apply, and the starting outcome of every change."""
    start: dict[str, str] = {}
    todo: list[Change] = []
    for c in plan.changes:
        if c.decision is Decision.REJECTED:
            start[c.id] = "rejected"
        elif c.blocked:  # an error problem: cannot be applied until resolved (P1, D5)
            start[c.id] = "blocked"
        elif c.decision is Decision.PENDING:
            start[c.id] = "skipped"
        else:
            start[c.id] = "pending"
            todo.append(c)
    return todo, start


class Applier:
    def __init__(
        self,
        lms: LMS,
        plan: Plan,
        *,
        journal: Journal,
        done: dict[str, tuple[str, str | None]] | None = None,
        concurrency: int = 8,
        progress: Callable[[Progress], None] | None = None,
        cancel: asyncio.Event | None = None,
        on_created: Callable[[list[tuple[Change, str]]], None] | None = None,
        keys: dict[str, dict[str, str | None]] | None = None,
        lms_journal: str | None = None,
    ):
        """`journal` gets each chunk's changes as `started` before its writes and their outcomes
        after. `lms_journal` instead, for an LMS whose `abilities.journal` it is: the run key under
        which the LMS records each chunk's outcomes in the transaction of its writes (A2), so that
        a change without an outcome was not written and needs no `started` mark."""
        self.lms = lms
        self.plan = plan
        self.journal = journal
        self.lms_journal = lms_journal
        self.prior = done or {}
        self.limit = asyncio.Semaphore(max(1, concurrency))
        self.progress_cb = progress
        self.cancel = cancel
        self.on_created = on_created
        # A4: the unique key the ledger holds for each target now, by entity ("user", "department")
        self.keys = keys or {}
        self.by_id = plan.by_id()
        self.reads = Reads(lms, plan.lms_users)  # A2 checks: one batched read per chunk where the LMS can
        self.deferred: list[tuple[Change, Write]] = []  # checked writes waiting for their grouped call
        self.pending_keys: set[str] = set()
        self.outcome: dict[str, str] = {}
        self.ids: dict[str, str] = {}  # change id -> LMS id of what it created / acts on
        self.dept_ids: dict[str, str] = {}  # code -> id, filled once the departments phase is over
        # U10: codes and logins renamed by this plan, so later checks accept either spelling
        self.renamed_code = {c.fields["code"][0].casefold(): c.fields["code"][1]
                             for c in plan.changes if c.kind is Kind.UPDATE_DEPARTMENT and "code" in c.fields}
        self.renamed_login = {c.fields["login"][0].casefold(): c.fields["login"][1]
                              for c in plan.changes if c.kind is Kind.UPDATE_USER and "login" in c.fields}
        # A4: the logins, emails and codes this plan writes to each target: an identity check accepts
        # them too (a user renamed, then inactivated; an earlier, interrupted attempt)
        self.writes = {(c.target, f): c.fields[f][1] for c in plan.changes if c.target
                       for f in _IDENTITY_FIELDS if f in c.fields}
        self.handlers: dict[Kind, Callable[[Change], Awaitable[str | Write | None]]] = {
            Kind.CREATE_DEPARTMENT: self._create_department, Kind.UPDATE_DEPARTMENT: self._update_department,
            Kind.DELETE_DEPARTMENT: self._delete_department, Kind.CREATE_USER: self._create_user,
            Kind.UPDATE_USER: self._update_user, Kind.INACTIVATE_USER: self._set_status,
            Kind.REACTIVATE_USER: self._set_status,
        }

    async def run(self) -> list[Outcome]:
        todo, start = selected(self.plan)
        for cid, (outcome, lms_id) in self.prior.items():
            if outcome in ("applied",):
                self.outcome[cid] = outcome
            if lms_id:
                self.ids[cid] = lms_id
        for cid, o in start.items():
            if o != "pending":
                self.outcome.setdefault(cid, o)
        results: list[Outcome] = []
        self.progress = Progress(total=len(todo))
        # creates an interrupted run finished: record them (again) as managed (L1); cheap and idempotent
        done_creates = [(self.by_id[cid], i) for cid, i in self.ids.items()
                        if cid in self.by_id and self.outcome.get(cid) == "applied"
                        and self.by_id[cid].kind in (Kind.CREATE_USER, Kind.CREATE_DEPARTMENT)]
        if done_creates and self.on_created:
            self.on_created(done_creates)
        for phase, kinds in PHASES:
            if phase == "users":
                self.dept_ids.clear()
            batch = [c for c in todo if c.kind in kinds and (phase != "links" or _links_of(c))]
            if phase == "links":
                batch = [c for c in batch if self.outcome.get(c.id) == "linking"]
            else:
                batch = [c for c in batch if self.outcome.get(c.id) != "applied"]
                self._count_resumed(todo, kinds, phase)
            for wave in self._waves(batch):
                size = self.lms.abilities.chunk
                for i in range(0, len(wave), size):
                    if self.cancel is not None and self.cancel.is_set():
                        raise asyncio.CancelledError
                    results += await self._chunk(phase, wave[i:i + size])
        return results

    def _count_resumed(self, todo: list[Change], kinds: tuple[Kind, ...], phase: str) -> None:
        if phase == "links":
            return
        for c in todo:
            if c.kind in kinds and self.outcome.get(c.id) == "applied":
                self._tick("applied")

    def _waves(self, batch: list[Change]) -> list[list[Change]]:
        """Split a phase so that a change runs after the changes of the same phase it depends on.

        Linear in the changes (a chain 20,000 deep is 20,000 waves, not 20,000 scans). An LMS that
        writes one change after another gets the waves as one list, in order: its chunks then
        hold 500 changes however deep the chain."""
        pos = {c.id: i for i, c in enumerate(batch)}
        inner: dict[str, set[str]] = {}  # change id -> the changes of this phase it waits for
        for c in batch:
            found = {d for d in c.depends_on if d in pos} if c.depends_on else None
            if found:
                inner[c.id] = found
        if not inner:  # (most phases of most plans: one wave)
            return [batch]
        waiting = {c.id: len(inner.get(c.id, ())) for c in batch}
        dependents: dict[str, list[str]] = {}
        for cid, ds in inner.items():
            for d in ds:
                dependents.setdefault(d, []).append(cid)
        waves: list[list[Change]] = []
        wave = [c for c in batch if not waiting[c.id]]
        while wave:
            waves.append(wave)
            ready: list[int] = []
            for c in wave:
                for x in dependents.get(c.id, ()):
                    waiting[x] -= 1
                    if not waiting[x]:
                        ready.append(pos[x])
            wave = [batch[i] for i in sorted(ready)]
        if sum(map(len, waves)) < len(batch):  # a dependency cycle among links: run what is left together
            waves.append([c for c in batch if waiting[c.id] > 0])
        if not self.lms.abilities.concurrent:
            return [[c for w in waves for c in w]]
        return waves

    async def _chunk(self, phase: str, chunk: list[Change]) -> list[Outcome]:
        if self.lms_journal is None:
            self.journal([(c.id, "started", None, None) for c in chunk])
        await self._prefetch(phase, chunk)
        async with self.lms.batch():
            if self.lms.abilities.concurrent:
                outs = list(await asyncio.gather(*(self._one(phase, c) for c in chunk)))
            else:  # a local LMS answers at once: no tasks to schedule, but let the loop breathe
                outs = []
                for i, c in enumerate(chunk):
                    keys = self._keys(c)
                    if self.deferred and not self.pending_keys.isdisjoint(keys):
                        outs += await self._flush(phase)  # it depends on, or shares a login with, a waiting write
                    outs.append(await self._check_and_write(phase, c))  # (one at a time: no limit to keep)
                    if outs[-1] is None:  # waiting for the grouped write
                        self.pending_keys |= keys
                    if i % 200 == 199:
                        await asyncio.sleep(0)  # a UI, a signal handler or a cancel gets its turn (a few ms)
            self.reads.clear()  # (the chunk's checks are done: its last writes need not keep them current)
            outs += await self._flush(phase)
            final = [o for o in outs if o is not None]
            rows = [(o.change.id, o.outcome, o.error, o.lms_id) for o in final]
            if self.lms_journal is not None:  # A2: committed with the writes it records, or neither is
                await self.lms.journal(self.lms_journal, rows)
        if self.lms_journal is None:
            self.journal(rows)
        created = [(o.change, o.lms_id) for o in final
                   if o.lms_id and o.change.kind in (Kind.CREATE_USER, Kind.CREATE_DEPARTMENT)
                   and o.outcome in ("applied", "linking")]
        if created and self.on_created:
            self.on_created(created)
        return [o for o in final if o.outcome != "linking"]

    async def _prefetch(self, phase: str, chunk: list[Change]) -> None:
        """A2 at wave granularity: the users this chunk checks, in one batched read."""
        ids: set[str] = set()
        logins: set[str] = set()
        emails: set[str] = set()
        for c in chunk:
            if c.entity != "user":
                continue
            target = c.target or self.ids.get(c.id)
            if target:
                ids.add(target)
            elif c.kind is Kind.CREATE_USER or phase == "links":
                logins.add(c.fields.get("login", (None, None))[1])
                emails.add(c.fields.get("email", (None, None))[1])
            for f in LINKS if phase == "links" else ():
                sup = c.fields.get(f, (None, None))[1]
                if sup and sup != NO_SUPERVISOR_TEXT:
                    logins.update(filter(None, (sup, self.renamed_login.get(sup.casefold()))))
        await self.reads.prefetch(ids, {x for x in logins if x}, {x for x in emails if x})

    def _keys(self, c: Change) -> set[str]:
        """What a change's check reads or its write touches, to order it after waiting writes."""
        keys = {*c.depends_on, c.id, c.target or self.ids.get(c.id) or c.id}
        for f in ("login", "email"):
            for v in c.fields.get(f, ()):
                if v:
                    keys.add(f + ":" + v.casefold())
        return keys

    async def _flush(self, phase: str) -> list[Outcome]:
        """The chunk's waiting writes: one LMS call per kind and group (A2: each was checked), each
        change's outcome its own."""
        deferred, self.deferred, self.pending_keys = self.deferred, [], set()
        groups: dict[tuple[str, Any], list[tuple[Change, Write]]] = {}
        for c, w in deferred:
            groups.setdefault((w.op, w.group), []).append((c, w))
        batch = max(1, self.lms.abilities.status_batch)
        parts = [(op, group, items[i:i + size]) for (op, group), items in groups.items()
                 for size in [batch if op in ("status", "move") else len(items)]
                 for i in range(0, len(items), size)]
        results = await asyncio.gather(*(write_grouped(self.lms, op, group, [w.item for _, w in part])
                                         for op, group, part in parts))
        outs: list[Outcome] = []
        for (_, _, part), answers in zip(parts, results):
            for (c, _), answer in zip(part, answers):
                if isinstance(answer, LMSError):
                    outs.append(self._finish(c, "failed", answer.message))
                else:
                    outs.append(self._done(phase, c, answer))
        self.reads.written({o.lms_id for o in outs if o.lms_id})
        return outs

    def _tick(self, outcome: str, error: str | None = None) -> None:
        self.progress.done += 1
        self.progress.counts[outcome] += 1
        if error:
            self.progress.last_error = error
        if self.progress_cb:
            self.progress_cb(self.progress)

    async def _one(self, phase: str, c: Change) -> Outcome | None:
        async with self.limit:
            return await self._check_and_write(phase, c)

    async def _check_and_write(self, phase: str, c: Change) -> Outcome | None:
        """One change: its checks and its write, or the write left for the chunk's grouped call (None)."""
        try:
            self._check_dependencies(c, phase)
            lms_id = await self._do(phase, c)
            if isinstance(lms_id, Write):  # checked; written by the chunk's grouped call
                self.deferred.append((c, lms_id))
                return None
        except Blocked as e:
            return self._finish(c, "blocked", str(e))
        except Stale as e:
            return self._finish(c, "stale", str(e))
        except LMSError as e:
            return self._finish(c, "failed", e.message)
        except Exception as e:  # A4: a change that cannot be applied fails alone, with its reason
            why = change_problem(c) or f"{type(e).__name__}: {e}"
            return self._finish(c, "failed", f"cannot be applied: {why}")
        return self._done(phase, c, lms_id)

    def _done(self, phase: str, c: Change, lms_id: str | None) -> Outcome:
        outcome = "applied"
        if phase == "users" and _links_of(c):
            outcome = "linking"  # finished by the links phase
        self.outcome[c.id] = outcome
        if lms_id:
            self.ids[c.id] = lms_id
        if outcome == "applied":
            self._tick(outcome)
        return Outcome(c, outcome, None, lms_id or self.ids.get(c.id))

    def _finish(self, c: Change, outcome: str, error: str) -> Outcome:
        self.outcome[c.id] = outcome
        self._tick(outcome, f"{c.kind.value} {c.key}: {error}")
        return Outcome(c, outcome, error)

    def _check_dependencies(self, c: Change, phase: str) -> None:
        for d in c.depends_on:
            dep = self.by_id.get(d)
            if dep is None:
                continue
            state = self.outcome.get(d, "pending")
            ok = state == "applied" or (state == "linking" and phase in ("users", "links"))
            if not ok:
                why = {"rejected": "was rejected", "skipped": "was not approved", "blocked": "is blocked",
                       "failed": "failed", "stale": "was stale", "pending": "has not been applied"}.get(state, state)
                raise Blocked(f"depends on {dep.kind.value} {dep.key}, which {why}")

    def _check_identity(self, c: Change, now: dict[str, str | None]) -> None:
        """A4: the object must still be the one planned: its login and email (a user) or code (a
        department) as planned, or as this plan sets them, and no other unique key in the ledger."""
        planned = c.identity
        if not planned:
            return
        for name, value in now.items():
            written = self.writes.get((c.target, name), planned.get(name))
            if _same(value, planned.get(name)) or _same(value, written):
                continue
            raise Stale(f"the {c.entity} is no longer the one planned: its {name} is {value!r} in the LMS, "
                        f"planned as {planned.get(name)!r}")
        key, key_now = planned.get("key"), self.keys.get(c.entity, {}).get(c.target or "")
        if key and key_now and key.casefold() != key_now.casefold():
            raise Stale(f"the {c.entity} is no longer the one planned: it has unique key {key_now!r}, "
                        f"planned as {key!r}")

    # --- the writes, each after its A2 check ------------------------------------

    async def _do(self, phase: str, c: Change) -> str | Write | None:
        if phase == "links":
            return await self._links(c)
        return await self.handlers[c.kind](c)

    async def _department_id(self, code: str | None) -> str | None:
        if code is None:
            return None
        key = code.casefold()
        if key not in self.dept_ids:  # departments are settled before users are written (A1)
            d = await self.reads.find_department(code)
            if d is None:
                raise Stale(f"department {code} is not in the LMS")
            self.dept_ids[key] = d.id
        return self.dept_ids[key]

    def _same_code(self, now: str | None, before: str | None) -> bool:
        if now is None or before is None:
            return now is None and before is None
        renamed = self.renamed_code.get(before.casefold())
        return now.casefold() == before.casefold() or (renamed is not None and now.casefold() == renamed.casefold())

    def _attempted(self, c: Change) -> bool:
        """Whether an earlier, interrupted attempt of this run may have written `c`."""
        return self.prior.get(c.id, ("",))[0] in ("started", "linking")

    async def _create_department(self, c: Change) -> str:
        code, name = c.fields["code"][1], c.fields["name"][1]
        parent_code = c.fields.get("parentCode", (None, None))[1]
        existing = await self.reads.find_department(code)
        parent_id = await self._department_id(parent_code)
        if existing is not None:
            if self._attempted(c) and existing.name == name and existing.parent_id == parent_id:
                return existing.id  # created by an interrupted attempt
            raise Stale(f"a department with code {code} now exists in the LMS")
        new_id = await self.lms.create_department(code=code, name=name, parent_id=parent_id)
        self.reads.department_written(new_id, DepartmentRecord(new_id, code, name, parent_id))
        return new_id

    async def _update_department(self, c: Change) -> str:
        now = await self.reads.get_department(c.target or "")
        if now is None:
            raise Stale("the department no longer exists in the LMS")
        self._check_identity(c, {"code": now.code})
        parent_now = (await self.reads.get_department(now.parent_id)) if now.parent_id else None
        current = {"code": now.code, "name": now.name, "parentCode": parent_now.code if parent_now else None}
        changes: dict[str, Any] = {}
        for f, (before, after) in c.fields.items():
            if current[f] == after:
                continue
            if f == "parentCode" and self._same_code(current[f], before) or current[f] == before:
                changes[f] = after
            else:
                raise Stale(f"{f} is now {current[f]!r} in the LMS, planned from {before!r}")
        if "parentCode" in changes:
            changes["parent_id"] = await self._department_id(changes.pop("parentCode"))
        if changes:
            await self.lms.update_department(now.id, changes)
            self.reads.department_written(now.id, DepartmentRecord(
                now.id, changes.get("code", now.code), changes.get("name", now.name),
                changes["parent_id"] if "parent_id" in changes else now.parent_id))
        return now.id

    async def _delete_department(self, c: Change) -> str | None:
        now = await self.reads.get_department(c.target or "")
        if now is None:
            return None  # already gone
        self._check_identity(c, {"code": now.code})
        users = await self.lms.department_user_count(now.id)
        if users:
            raise Stale(f"department {now.code} has {users} user(s) in the LMS now")
        await self.lms.delete_department(now.id)
        self.reads.department_written(now.id, None)
        return now.id

    async def _create_user(self, c: Change) -> str | Write:
        after = {f: a for f, (_, a) in c.fields.items()}
        login, email = after["login"], after["email"]
        by_login = await self.reads.find_user(login=login)
        by_email = await self.reads.find_user(email=email)
        existing = by_login or by_email
        if existing is not None:
            if self._attempted(c) and by_login and by_email and by_login.id == by_email.id \
                    and existing.firstName == after.get("firstName") and existing.lastName == after.get("lastName"):
                return existing.id  # created by an interrupted attempt
            taken = "login " + login if by_login else "email " + email
            raise Stale(f"{taken} is now taken in the LMS")
        custom = {f: v for f, v in after.items() if f not in _STANDARD}
        rec = UserRecord(
            id="", login=login, email=email, firstName=after.get("firstName", ""), lastName=after.get("lastName", ""),
            department_id=await self._department_id(after.get("departmentId")),
            status=after.get("status") or _ACTIVE, phone=after.get("phone"),
            jobTitle=after.get("jobTitle"), custom=custom,
        )
        if self.lms.abilities.create_users:
            return Write("create", None, rec)
        return await self.lms.create_user(rec)

    async def _user_now(self, c: Change) -> UserRecord:
        now = await self.reads.get_user(c.target or self.ids.get(c.id) or "")
        if now is None:
            raise Stale("the user no longer exists in the LMS")
        self._check_identity(c, {"login": now.login, "email": now.email})
        return now

    async def _update_user(self, c: Change) -> str | Write:
        now = await self._user_now(c)
        changes: dict[str, Any] = {}
        for f, (before, after) in c.fields.items():
            if f in LINKS:
                continue
            if f == "departmentId":
                dept = (await self.reads.get_department(now.department_id)) if now.department_id else None
                cur = dept.code if dept else None
                if cur is not None and after is not None and cur.casefold() == after.casefold():
                    continue
                if not self._same_code(cur, before):
                    raise Stale(f"department is now {cur!r} in the LMS, planned from {before!r}")
                changes["department_id"] = await self._department_id(after)
                continue
            cur = now.custom.get(f) if f not in _STANDARD else getattr(now, USER_FIELD.get(f, f))
            if cur == after:
                continue
            if cur != before:
                raise Stale(f"{f} is now {cur!r} in the LMS, planned from {before!r}")
            changes[f if f in _STANDARD else CUSTOM_PREFIX + f] = after
        if not changes:
            return now.id
        if set(changes) == {"status"}:  # a termination from the status column: with the other statuses, in bulk
            return Write("status", changes["status"], now.id)
        if set(changes) == {"department_id"} and self.lms.abilities.move_users:
            return Write("move", changes["department_id"], now.id)  # the department alone: a bulk move
        if self.lms.abilities.update_users:
            return Write("update", None, (now.id, changes))
        await self.lms.update_user(now.id, changes)
        return now.id

    async def _user_ref(self, login: str | None) -> str | None:
        if login is None:
            return None
        if login == NO_SUPERVISOR_TEXT:
            return NO_SUPERVISOR
        u = await self.reads.find_user(login=login)
        if u is None:
            renamed = self.renamed_login.get(login.casefold())
            u = await self.reads.find_user(login=renamed) if renamed else None
        if u is None:
            raise Stale(f"supervisor {login} is not in the LMS")
        return u.id

    async def _links(self, c: Change) -> str:
        uid = c.target or self.ids.get(c.id)
        if uid is None:
            u = await self.reads.find_user(login=c.fields["login"][1]) if "login" in c.fields else None
            uid = u.id if u else None
        now = await self.reads.get_user(uid or "")
        if now is None:
            raise Stale("the user no longer exists in the LMS")
        self._check_identity(c, {"login": now.login, "email": now.email})
        want = {"subordination": now.subordination, "coSubordination": now.coSubordination}
        for f in LINKS:
            if f in c.fields:
                want[f] = await self._user_ref(c.fields[f][1])
        if (want["subordination"], want["coSubordination"]) != (now.subordination, now.coSubordination):
            await self.lms.set_supervisors(now.id, want["subordination"], want["coSubordination"])
        return now.id

    async def _set_status(self, c: Change) -> str | Write:
        now = await self._user_now(c)
        before, after = c.fields["status"]
        if now.status == after:
            return now.id
        if now.status != before:
            raise Stale(f"status is now {now.status} in the LMS, planned from {before}")
        return Write("status", after, now.id)  # statuses ready together go out in bulk


def _links_of(c: Change) -> bool:
    """Whether the change sets a supervisor link (LINKS)."""
    return "subordination" in c.fields or "coSubordination" in c.fields


def _same(a: str | None, b: str | None) -> bool:
    """Logins, emails and codes compare case-insensitively, as the planner matches them."""
    return a == b if a is None or b is None else a.casefold() == b.casefold()
