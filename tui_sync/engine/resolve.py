"""What an operator needs to resolve D5 interactively, as data; and re-planning
without losing the operator's decisions.

`blockers` names the users and child departments that keep a department delete
blocked (the problem message lists only the first few); `move_targets` lists the
departments its users can move to; `carry_decisions` copies decisions from an
old plan to a new one by change id (P1 ids are stable).
"""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..lms.base import Snapshot
from ..model import Change, Decision, Kind, Plan


@dataclass(frozen=True)
class BlockingUser:
    login: str
    name: str
    email: str
    status: str


@dataclass(frozen=True)
class BlockingDepartment:
    code: str
    name: str
    deleted_but_blocked: bool  # it is to be deleted too, but its own delete is blocked


@dataclass(frozen=True)
class Blockers:
    """Why a delete_department change is blocked (D5)."""

    code: str
    name: str
    users: tuple[BlockingUser, ...]
    children: tuple[BlockingDepartment, ...]
    users_move: bool  # a resolution can unblock it by moving users (children need a person in the LMS)
    parent: str | None = None  # its parent's code, when the parent stays: where its users most likely go


@dataclass(frozen=True)
class MoveTarget:
    code: str
    name: str
    new: bool  # created by this plan


def blockers(plan: Plan, snapshot: Snapshot, change: Change) -> Blockers:
    """The users that would still belong to the department after every other change
    of the plan, and its child departments that stay (D5), for `change`
    (a delete_department)."""
    if change.kind is not Kind.DELETE_DEPARTMENT:
        raise ValueError(f"{change.id} is not a department delete")
    departments = snapshot.departments
    row = departments.filter(pl.col("id") == change.target)
    name = row["name"][0] if row.height else change.key
    found = plan.blocked_by.get(change.id, {"users": [], "children": []})  # computed by the planner (D5)
    staying = snapshot.users.filter(pl.col("login").is_in(found["users"]))
    users = tuple(
        BlockingUser(login, " ".join(part for part in (first, last) if part), email or "", status or "")
        for login, first, last, email, status
        in staying.sort("login").select("login", "firstName", "lastName", "email", "status").iter_rows()
    )
    deletes = {c.key.casefold(): c for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT}
    creates = {c.key.casefold(): c for c in plan.changes if c.kind is Kind.CREATE_DEPARTMENT}
    names = {(code or "").casefold(): name for code, name in departments.select("code", "name").iter_rows()}
    children = tuple(
        BlockingDepartment(code, names.get(code.casefold())
                           or (creates[code.casefold()].fields["name"][1] if code.casefold() in creates else ""),
                           code.casefold() in deletes)
        for code in found["children"]
    )
    return Blockers(change.key, name, users, children,
                    users_move=any(problem.code == "department_has_users" for problem in change.problems),
                    parent=(found.get("parent") or [None])[0])  # as the planner named it (a usable --to)


def move_targets(plan: Plan, snapshot: Snapshot) -> list[MoveTarget]:
    """Departments that stay after the plan: where a deleted department's users may go."""
    doomed = {c.target for c in plan.changes if c.kind is Kind.DELETE_DEPARTMENT}
    out = [MoveTarget(code, name or "", False)
           for lms_id, code, name in snapshot.departments.select("id", "code", "name").iter_rows()
           if code and lms_id not in doomed]
    renamed = {c.target: c for c in plan.changes if c.kind is Kind.UPDATE_DEPARTMENT and c.target}
    ids = dict(snapshot.departments.select("code", "id").iter_rows())
    for index, target in enumerate(out):  # show codes and names as they will read
        update = renamed.get(ids.get(target.code))
        if update is not None:
            out[index] = MoveTarget(update.fields.get("code", (None, target.code))[1] or target.code,
                                    update.fields.get("name", (None, target.name))[1] or target.name, False)
    out += [MoveTarget(c.key, c.fields.get("name", (None, ""))[1] or "", True)
            for c in plan.changes if c.kind is Kind.CREATE_DEPARTMENT and not c.blocked]
    return sorted(out, key=lambda t: t.code.casefold())


def carry_decisions(old: Plan, new: Plan) -> int:
    """Copy each decision of `old` to the change with the same id in `new`.
    An approval is not carried to a change that is now blocked. Returns how many were carried."""
    before = {c.id: c.decision for c in old.changes if c.decision is not Decision.PENDING}
    carried = 0
    for change in new.changes:
        decision = before.get(change.id)
        if decision is None or (decision is Decision.APPROVED and change.blocked):
            continue
        change.decision = decision
        carried += 1
    return carried
