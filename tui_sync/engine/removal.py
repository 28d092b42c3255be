"""Department removal (D4) and "department has users / children" (D5), with resolutions."""
from __future__ import annotations

import polars as pl

from ..errors import UsageError
from ..model import Change, Kind, Problem, Resolution, error, warning
from .departments import NEW, DepartmentStep, change_id
from .users import UserStep

LISTED = 20  # names listed in a problem's message before "and N more"


def _listing(names: list[str]) -> str:
    shown = ", ".join(names[:LISTED])
    return shown + (f" and {len(names) - LISTED} more" if len(names) > LISTED else "")


def _parent_target(d: str, parent_now: dict, depts: DepartmentStep, doomed: set[str]) -> str | None:
    """The code `--to` takes for the parent of doomed department `d` (as it reads after the plan),
    when the parent stays and can take users; else None."""
    p = parent_now.get(d)
    if p is None or p in doomed:
        return None
    code = depts.code_of.get(p) or depts.lms_code_of.get(p)
    target = depts.by_code.get(code.casefold()) if code else None
    return code if target is not None and target.ok and target.ref == p else None


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
    doomed = [d for d in depts.managed if d not in depts.named and d in parent_now]
    problems: list[Problem] = []

    def depth(d: str) -> int:
        n, p = 0, parent_now.get(d)
        while p is not None and n < len(parent_now):
            n, p = n + 1, parent_now.get(p)
        return n

    doomed.sort(key=lambda d: (-depth(d), (depts.lms_code_of.get(d) or "").casefold()))
    doomed_set = set(doomed)

    # where each LMS user will be after the plan's user changes (only users of doomed departments matter)
    users_in: dict[str, list[tuple[str, str]]] = {}
    moves_out: dict[str, list[str]] = {}
    updates = {c.target: c for c in users.changes if c.kind is Kind.UPDATE_USER and c.target} if doomed else {}
    if doomed:
        # only users in a doomed department now, or moved into one by the plan, can matter
        moved = users.final_department
        into = [uid for uid, ref in moved.items() if ref in doomed_set]
        concerned = lms_users.filter(pl.col("department_id").is_in(doomed_set) | pl.col("id").is_in(into)) \
            .select("id", "login", "department_id").sort("login")
        for uid, login, dep in concerned.iter_rows():
            fin = moved.get(uid, dep)
            if fin in doomed_set:
                users_in.setdefault(fin, []).append((uid, login))
            if dep in doomed_set and fin != dep and uid in updates:
                moves_out.setdefault(dep, []).append(updates[uid].id)

    # D5 resolutions: move the users who would stay
    by_code_n = {(depts.lms_code_of.get(d) or "").casefold(): d for d in doomed}
    for res in resolutions:
        d = by_code_n.get(res.move_users_of.casefold())
        if d is None:
            problems.append(warning("resolution_unused", "department",
                                    f"--move-users-of {res.move_users_of}: that department is not planned for deletion",
                                    key=res.move_users_of))
            continue
        to = depts.by_code.get(res.to.casefold())
        if to is None or not to.ok or to.ref == d:
            why = to.reason if to and to.reason else "no usable department has that code"
            raise UsageError(f"--to {res.to}: {why}", hint="pick a department that stays after the sync")
        moving = users_in.pop(d, [])
        staying = [(uid, login) for uid, login in moving if uid in users.protected]  # C2: never moved
        if staying:
            users_in[d], moving = staying, [x for x in moving if x not in staying]
        for uid, login in moving:
            deps = [depts.create_id[to.ref]] if to.ref.startswith(NEW) else []
            if uid in updates:
                ch = updates[uid]
                ch.fields["departmentId"] = (depts.lms_code_of.get(d), res.to)  # they can only be in d now
                ch.depends_on.extend(x for x in deps if x not in ch.depends_on)
            else:
                ch = Change(change_id(Kind.UPDATE_USER, login), Kind.UPDATE_USER, login,
                            {"departmentId": (depts.lms_code_of.get(d), res.to)}, row=users.row_of(uid),
                            target=uid, depends_on=deps)
                users.changes.append(ch)
                updates[uid] = ch
            moves_out.setdefault(d, []).append(ch.id)

    changes: list[Change] = []
    blocked: set[str] = set()
    blocked_by: dict[str, dict[str, list[str]]] = {}
    children: dict[str, list[str]] = {}  # after the plan
    for k, p in depts.parent_of.items():
        children.setdefault(p, []).append(k)
    for d in doomed:  # children first, so a blocked child blocks its parent
        code = depts.lms_code_of.get(d) or d
        probs: list[Problem] = []
        to = _parent_target(d, parent_now, depts, doomed_set)
        if users_in.get(d):
            logins = [lg for _, lg in users_in[d]]
            probs.append(error("department_has_users", "department",
                               f"department {code} still has {len(logins)} user(s) after this sync: {_listing(logins)}. "
                               f"Keep the department, or move them (--move-users-of {code} --to "
                               + (f"CODE, e.g. its parent: --to {to})" if to else "CODE)"), key=code))
        kids = [k for k in children.get(d, ()) if k not in doomed_set or k in blocked]
        names = sorted(depts.code_of.get(k) or depts.lms_code_of.get(k) or k for k in kids)
        if kids:
            probs.append(error("department_has_children", "department",
                               f"department {code} still has child department(s) after this sync: {_listing(names)}",
                               key=code))
        cid = change_id(Kind.DELETE_DEPARTMENT, code)
        if probs:
            blocked.add(d)
            blocked_by[cid] = {"users": [lg for _, lg in users_in.get(d, [])], "children": names,
                               "parent": [to] if to else []}
        deps = [change_id(Kind.DELETE_DEPARTMENT, depts.lms_code_of.get(k) or k)
                for k in children.get(d, ()) if k in doomed_set]
        deps += moves_out.get(d, [])
        changes.append(Change(cid, Kind.DELETE_DEPARTMENT, code,
                              {"code": (code, None)}, target=d, depends_on=deps, problems=probs))
        problems.extend(probs)
    return changes, problems, blocked_by

