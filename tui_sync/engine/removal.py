"""Department removal (D4) and "department has users / children" (D5), with resolutions."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from ..errors import UsageError
from ..hierarchy import depths
from ..model import Change, Kind, Problem, Resolution, error, warning
from .departments import NEW, DepartmentStep, Target, change_id
from .users import UserStep

LISTED = 20  # names listed in a problem's message before "and N more"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


@dataclass
class _Occupants:
    """D5: who would still belong to each department to be deleted, after the plan's user changes."""

    users_in: dict[str, list[tuple[str, str]]]  # department id -> (user id, login) that stay in it
    moves_out: dict[str, list[str]]  # department id -> ids of the user changes that take users out of it
    updates: dict[str, Change]  # user id -> its update_user change


def plan_deletes(
    depts: DepartmentStep,
    users: UserStep,
    lms_departments: pl.DataFrame,
    lms_users: pl.DataFrame,
    resolutions: list[Resolution],
) -> tuple[list[Change], list[Problem], dict[str, dict[str, list[str]]]]:
    """delete_department changes, children first, blocked by D5 unless resolved, and for each
    blocked one the logins and child codes that block it.

    Adds the user moves that resolutions ask for to `users.changes`.
    """
    parent_now = dict(lms_departments.select("id", "parent_id").iter_rows())
    doomed = _d4_deleted_children_first(depts, parent_now)
    occupants = _d5_occupants(set(doomed), users, lms_users)
    problems = _d5_resolve(resolutions, doomed, depts, users, occupants)
    changes, blocking, blocked_by = _d5_delete_changes(doomed, parent_now, depts, occupants)
    return changes, problems + blocking, blocked_by


def _d4_deleted_children_first(depts: DepartmentStep, parent_now: dict[str, str | None]) -> list[str]:
    """D4: the managed departments (C2: never a protected one) that no row names any more, deepest
    first (A1: children before their parents), then by code."""
    doomed = [lms_id for lms_id in depts.managed if lms_id not in depts.named and lms_id in parent_now]
    depth = depths(doomed, parent_now)  # each department walked once, however deep the tree
    return sorted(doomed, key=lambda lms_id: (-depth[lms_id], (depts.lms_code_of.get(lms_id) or "").casefold()))


def _d5_occupants(doomed: set[str], users: UserStep, lms_users: pl.DataFrame) -> _Occupants:
    """Where each LMS user will be after the plan's user changes; only users in a department to be
    deleted now, or moved into one by the plan, can matter."""
    occupants = _Occupants({}, {}, {})
    if not doomed:
        return occupants
    updating = Kind.UPDATE_USER  # (looked up once: an enum's member costs a lookup of its own each time)
    occupants.updates = {c.target: c for c in users.changes if c.kind is updating and c.target}
    moved = users.final_department
    moved_in = [user_id for user_id, ref in moved.items() if ref in doomed]
    concerned = lms_users.filter(pl.col("department_id").is_in(doomed) | pl.col("id").is_in(moved_in)) \
        .select("id", "login", "department_id").sort("login")
    for user_id, login, department_now in concerned.iter_rows():
        department_after = moved.get(user_id, department_now)
        if department_after in doomed:
            occupants.users_in.setdefault(department_after, []).append((user_id, login))
        if department_now in doomed and department_after != department_now and user_id in occupants.updates:
            occupants.moves_out.setdefault(department_now, []).append(occupants.updates[user_id].id)
    return occupants


def _d5_resolve(resolutions: list[Resolution], doomed: list[str], depts: DepartmentStep, users: UserStep,
                occupants: _Occupants) -> list[Problem]:
    """D5 resolutions (`--move-users-of CODE --to CODE`): move the users who would stay. One that names
    no department to be deleted is a warning; a `--to` that cannot take them is a usage error. A code
    several departments to be deleted hold (in other cases, as iSpring allows) moves the users of each."""
    problems: list[Problem] = []
    by_code_n: dict[str, list[str]] = {}
    for lms_id in doomed:
        by_code_n.setdefault((depts.lms_code_of.get(lms_id) or "").casefold(), []).append(lms_id)
    for resolution in resolutions:
        departments = by_code_n.get(resolution.move_users_of.casefold(), [])
        if not departments:
            problems.append(warning(
                "resolution_unused", "department",
                f"--move-users-of {resolution.move_users_of}: that department is not planned for deletion",
                key=resolution.move_users_of))
            continue
        to = depts.by_code.get(resolution.to.casefold())
        if to is None or not to.ok or to.ref in departments:
            why = to.reason if to and to.reason else "no usable department has that code"
            raise UsageError(f"--to {resolution.to}: {why}", hint="pick a department that stays after the sync")
        for department in departments:
            _move_users(department, resolution.to, to, depts, users, occupants)
    return problems


def _move_users(department: str, to_code: str, to: Target, depts: DepartmentStep, users: UserStep,
                occupants: _Occupants) -> None:
    """D5: move the users who would stay in `department` to `to` (C2: never a protected user), each in
    its own update_user change (after the create of `to`, when the plan creates it)."""
    moving = occupants.users_in.pop(department, [])
    staying = [(user_id, login) for user_id, login in moving if user_id in users.protected]
    if staying:
        occupants.users_in[department], moving = staying, [user for user in moving if user not in staying]
    if not moving:
        return
    needs = [depts.create_id[to.ref]] if to.ref.startswith(NEW) else []
    move = {"departmentId": (depts.lms_code_of.get(department), to_code)}  # they can only be in it now
    for user_id, login in moving:
        change = occupants.updates.get(user_id)
        if change is not None:
            change.fields.update(move)
            change.depends_on.extend(need for need in needs if need not in change.depends_on)
        else:
            change = Change(change_id(Kind.UPDATE_USER, login), Kind.UPDATE_USER, login, dict(move),
                            row=users.row_of(user_id), target=user_id, depends_on=list(needs))
            users.changes.append(change)
            occupants.updates[user_id] = change
        occupants.moves_out.setdefault(department, []).append(change.id)


def _d5_delete_changes(doomed: list[str], parent_now: dict[str, str | None], depts: DepartmentStep,
                       occupants: _Occupants) -> tuple[list[Change], list[Problem], dict[str, dict[str, list[str]]]]:
    """D4 deletes, children first (a blocked child blocks its parent); D5 blocks each one that would
    keep users or child departments, and says what blocks it. A delete runs after its children's
    deletes and after the user changes that take users out of it."""
    changes: list[Change] = []
    problems: list[Problem] = []
    blocked: set[str] = set()
    blocked_by: dict[str, dict[str, list[str]]] = {}
    doomed_set = set(doomed)
    children: dict[str | None, list[str]] = {}  # after the plan
    for ref, parent in depts.parent_of.items():
        children.setdefault(parent, []).append(ref)
    for department in doomed:
        code = depts.lms_code_of.get(department) or department
        parent = _parent_target(department, parent_now, depts, doomed_set)
        logins = [login for _, login in occupants.users_in.get(department, [])]
        staying = sorted(depts.code_of.get(child) or depts.lms_code_of.get(child) or child
                         for child in children.get(department, ()) if child not in doomed_set or child in blocked)
        blocking = _d5_blocking_problems(code, logins, staying, parent)
        delete_id = change_id(Kind.DELETE_DEPARTMENT, code)
        if blocking:
            blocked.add(department)
            blocked_by[delete_id] = {"users": logins, "children": staying, "parent": [parent] if parent else []}
        needs = [change_id(Kind.DELETE_DEPARTMENT, depts.lms_code_of.get(child) or child)
                 for child in children.get(department, ()) if child in doomed_set]
        needs += occupants.moves_out.get(department, [])
        changes.append(Change(delete_id, Kind.DELETE_DEPARTMENT, code, {"code": (code, None)}, target=department,
                              depends_on=needs, problems=blocking))
        problems.extend(blocking)
    return changes, problems, blocked_by


def _d5_blocking_problems(code: str, logins: list[str], children: list[str], parent: str | None) -> list[Problem]:
    """D5: `department_has_users` (with the resolution to offer: its parent, when it can take them)
    and `department_has_children`, each listing who or what stays."""
    blocking: list[Problem] = []
    if logins:
        blocking.append(error("department_has_users", "department",
                              f"department {code} still has {len(logins)} user(s) after this sync: {_listing(logins)}. "
                              f"Keep the department, or move them (--move-users-of {code} --to "
                              + (f"CODE, e.g. its parent: --to {parent})" if parent else "CODE)"), key=code))
    if children:
        blocking.append(error("department_has_children", "department",
                              f"department {code} still has child department(s) after this sync: {_listing(children)}",
                              key=code))
    return blocking


def _parent_target(department: str, parent_now: dict[str, str | None], depts: DepartmentStep,
                   doomed: set[str]) -> str | None:
    """The code `--to` takes for the parent of a department to be deleted (as it reads after the
    plan), when the parent stays and can take users; else None."""
    parent = parent_now.get(department)
    if parent is None or parent in doomed:
        return None
    code = depts.code_of.get(parent) or depts.lms_code_of.get(parent)
    target = depts.by_code.get(code.casefold()) if code else None
    return code if target is not None and target.ok and target.ref == parent else None
