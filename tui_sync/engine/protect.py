"""C2 protected objects: LMS users and departments that no sync changes, inactivates,
reactivates or deletes (`[protect] users`, `[protect] departments`)."""
from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass

import polars as pl

from ..hierarchy import Node, walk_up
from ..model import Change, Kind, Plan, Severity, error, warning
from ..rule_settings import Protect, wildcard_regex
from ..sources.table import ROW
from .departments import NEW, DepartmentStep, Target
from .frames import ERR, RowProblems

PROTECTED = "protected"  # the problem code


PROTECTED_ROW = "__protected"  # a row that names a protected LMS user: it yields no change (a warning)
IDENTIFYING = ("identity_conflict", "login_taken", "email_taken")  # U2, U3: a row that may name another user
DUPLICATES = ("duplicate_login", "duplicate_email", "duplicate_user_key")  # U3: so may a row another repeats


def mark_protected_users(rows: pl.LazyFrame, problems: RowProblems, protect: Protect, protected: pl.Series | None,
                         logins: pl.Series, column: str | None) -> pl.LazyFrame:
    """C2 on the users sheet, after identification (`target`: the LMS user's position, `protected`:
    which LMS users are protected, by position). A row that identifies a protected user, and no other
    row does, is PROTECTED_ROW: a warning, and it is not validated beyond identifying it
    (`forgive_protected_rows`). A row that would create a user with a protected login, or give one
    to another user, is an error."""
    if protected is None:
        return rows.with_columns(pl.lit(False).alias(PROTECTED_ROW))
    at = pl.lit(protected).gather(pl.col("target")).fill_null(False)
    # identified without doubt: no identification problem marked (pending), no U3 duplicate (collected)
    unsure = pl.any_horizontal(pl.lit(False), *(pl.col(m[0]) for m in problems.marks if m[1] in IDENTIFYING))
    duplicates = [f.filter(pl.col("code").is_in(DUPLICATES))["row"] for f in problems.frames]
    duplicate = pl.col(ROW).is_in(pl.concat(duplicates).implode()) if duplicates else pl.lit(False)
    rows = rows.with_columns((at & ~unsure & ~duplicate).alias(PROTECTED_ROW))

    def lms_login(hit: pl.DataFrame) -> pl.DataFrame:
        return hit.with_columns(pl.lit(logins).gather(pl.col("target")).alias("__lms_login"))

    # U2: two rows that identify one protected user (one of them with errors U2 passed over)
    named = pl.col("target").filter(pl.col(PROTECTED_ROW))  # (few rows: a window over all of them costs more)
    twice = pl.col(PROTECTED_ROW) & pl.col("target").is_in(named.filter(named.is_duplicated()).implode())
    rows = problems.mark(rows, twice, "identity_conflict",
                         pl.format("another row identifies the same LMS user ({})", pl.col("__lms_login")),
                         key="login", column=column, enrich=lms_login)
    rows = rows.with_columns((pl.col(PROTECTED_ROW) & ~twice).alias(PROTECTED_ROW))
    rows = problems.mark(rows, pl.col(PROTECTED_ROW), PROTECTED,
                         pl.format("LMS user {} is protected ([protect] users): this row changes nothing",
                                   pl.col("__lms_login")),
                         key="login", column=column, severity=Severity.WARNING, enrich=lms_login)
    return problems.mark(rows, ~pl.col(ERR) & ~at & protect.user_mask(pl.col("login")), PROTECTED,
                         pl.when(pl.col("target").is_null())
                         .then(pl.format("login {} is protected ([protect] users): no user is created with it",
                                         pl.col("login")))
                         .otherwise(pl.format("login {} is protected ([protect] users): LMS user {} cannot take it",
                                              pl.col("login"), pl.col("__lms_login"))),
                         key="login", column=column, enrich=lms_login)


def forgive_protected_rows(problems: RowProblems, df: pl.DataFrame) -> None:
    """C2: a PROTECTED_ROW changes nothing, so its cells are not checked: every problem found at it
    (a blank required cell, an unknown department, an unknown supervisor...) is withdrawn but the
    `protected` warning. An export of the LMS, read back as the users sheet, then plans nothing for
    the admin it lists."""
    rows = df.filter(pl.col(PROTECTED_ROW))[ROW]
    if rows.len():
        problems.frames[:] = [f.filter(~pl.col("row").is_in(rows.implode()) | (pl.col("code") == PROTECTED))
                              for f in problems.frames]


def protected_departments(lms: pl.DataFrame, protect: Protect) -> set[str]:
    """LMS ids of the protected departments: the codes that match, and their sub-departments
    (as the LMS holds them now). Each department is judged once, whatever the depth."""
    if not protect.departments:
        return set()
    matching = set(lms.filter(protect.department_mask(pl.col("code")))["id"].to_list())
    if not matching:
        return set()
    parent = dict(lms.select("id", "parent_id").iter_rows())
    nearest = nearest_marked(parent, parent, matching.__contains__)
    return {lms_id for lms_id, hit in nearest.items() if hit is not None and lms_id in parent}


def nearest_marked(starts: Iterable[Node], parent_of: Mapping[Node, Node | None],
                   marked: Callable[[Node], bool]) -> dict[Node, Node | None]:
    """For each node reached from `starts`: the first node at or above it (walking up `parent_of`,
    round a cycle too) that is `marked`, or None. One walk, top-down: each node is judged once, so a
    chain 20,000 deep costs 20,000 steps, not 20,000²."""
    walk = walk_up(starts, parent_of)
    nearest: dict[Node, Node | None] = {}
    for cycle in walk.cycles:  # parent_of(cycle[i]) is cycle[i + 1], and the last one's is cycle[0]
        judged = [marked(node) for node in cycle]
        first = judged.index(True) if any(judged) else None
        after = None if first is None else cycle[first]
        for i in range(len(cycle)):  # down the cycle from a marked node, so each one's parent is known
            at = (first or 0) - i
            after = cycle[at] if judged[at] else after
            nearest[cycle[at]] = after
    for node in walk.parents_first:
        if node not in nearest:
            nearest[node] = node if marked(node) else nearest.get(parent_of.get(node))  # type: ignore[arg-type]
    return nearest


def guard_departments(depts: DepartmentStep, lms: pl.DataFrame, protect: Protect, protected: set[str],
                      column: str | None) -> None:
    """C2 after the department step: a row that would create, rename or move a protected department
    (or create or move one into a protected subtree, which would make it protected) yields no change
    and a `protected` warning. What the plan says about those departments afterwards (codes,
    parents) is as the LMS has them; users may still be placed in protected departments."""
    if not protect.departments:
        return
    pattern = re.compile(wildcard_regex(protect.departments))
    planned_parent = dict(depts.parent_of)
    lms_parent = dict(lms.select("id", "parent_id").iter_rows())

    def ref_of(c: Change) -> str:
        return c.target or NEW + c.key.strip().lower()

    named: dict[str, str] = {}  # a protected department -> its code as messages name it

    def marked(node: str) -> bool:
        if node in protected:  # the code it keeps
            named[node] = depts.lms_code_of.get(node) or ""
        elif pattern.match(code := depts.code_of.get(node) or depts.lms_code_of.get(node) or ""):
            named[node] = code  # the code the sheet gives it
        return node in named

    # the protected department nearest above each change (itself included), judged once for the
    # whole plan as the sheet proposes it, so no row's verdict depends on the rows before it
    guarded = [c for c in depts.changes if c.kind in (Kind.CREATE_DEPARTMENT, Kind.UPDATE_DEPARTMENT)]
    nearest = nearest_marked([ref_of(c) for c in guarded], planned_parent, marked)

    def reason(c: Change) -> str | None:
        if c.target in protected:
            return f"department {depts.lms_code_of.get(c.target)} is protected ([protect] departments)"
        node = nearest.get(ref_of(c))
        if node is None:
            return None
        what = "created" if c.target is None else "changed"
        under = "" if node == ref_of(c) else f" under protected department {named[node]}"
        return f"department {c.key} would be {what}{under}; it would be protected ([protect] departments)"

    kept: list[Change] = []
    for c in depts.changes:
        why = reason(c) if c.kind in (Kind.CREATE_DEPARTMENT, Kind.UPDATE_DEPARTMENT) else None
        if why is None:
            kept.append(c)
        else:
            depts.problems.append(warning(PROTECTED, "department", f"{why}: this row changes nothing",
                                          row=c.row, column=column, key=c.key))
            _as_the_lms_has_it(depts, c, why, lms_parent, protected)
    depts.changes[:] = kept


def _as_the_lms_has_it(depts: DepartmentStep, c: Change, why: str, lms_parent: dict[str, str | None],
                       protected: set[str]) -> None:
    """C2: what the rest of the plan sees of a department whose change was held back — as the LMS
    has it (its code and parent), or, for one not created, a target users cannot be placed in."""
    code_n = c.key.strip().lower()
    if c.target is None:  # users cannot be placed in a department that is not created
        ref = NEW + code_n
        depts.parent_of.pop(ref, None)
        depts.create_id.pop(ref, None)
        depts.by_code[code_n] = Target(None, False, f"department {c.key} (row {c.row}) is not created: {why}")
        return
    depts.parent_of[c.target] = lms_parent.get(c.target)
    now = depts.lms_code_of.get(c.target)
    if now is not None:
        depts.code_of[c.target] = now
        depts.by_code.setdefault(now.strip().lower(), Target(c.target, True))
    if c.target in protected:
        depts.matched.pop(c.target, None)


def refuse_protected(plan: Plan, protect: Protect, departments: pl.DataFrame | None = None) -> list[Change]:
    """C2 at apply, for a saved plan (made, perhaps, before the protection): a change that names a
    protected login or department code — its key, or its login / code / parent before or after —
    gets a `protected` error, so it is not applied (P1). With the LMS's `departments` as they are
    now, so does a department change inside a protected subtree: its target, or a parent before or
    after, is a sub-department of a protected code (what the planner refuses). The changes refused
    are returned."""
    subtree = protected_departments(departments, protect) if departments is not None else set()
    subtree_codes = {code.strip().casefold() for code in
                     departments.filter(pl.col("id").is_in(list(subtree)))["code"].drop_nulls().to_list()
                     } if subtree else set()
    refused: list[Change] = []
    for c in plan.changes:
        patterns = protect.users if c.entity == "user" else protect.departments
        if not patterns or any(p.code == PROTECTED for p in c.problems):
            continue
        pattern = re.compile(wildcard_regex(patterns))
        names = [v for v in (c.key, *(v for f in ("login", "code", "parentCode") for v in c.fields.get(f, ())))
                 if isinstance(v, str)]
        what = "login" if c.entity == "user" else "department"
        hit = next((v for v in names if pattern.match(v.strip())), None)
        if hit is not None:
            why = f"{what} {hit} is protected ([protect] {c.entity}s)"
        elif c.entity == "department" and (c.target in subtree or any(
                v.strip().casefold() in subtree_codes for v in names)):
            inside = c.key if c.target in subtree else next(v for v in names if v.strip().casefold() in subtree_codes)
            why = f"department {inside} is protected ([protect] departments: it is inside a protected department)"
        else:
            continue
        c.problems.append(error(PROTECTED, c.entity, f"{why}: this change is not applied", key=c.key))
        refused.append(c)
    return refused


@dataclass(frozen=True)
class ProtectedObject:
    """An LMS object the protection covers, and why (for the review: "on request")."""

    entity: str  # "user" | "department"
    key: str  # login or code
    why: str  # the pattern that matched, or the protected department it sits under


def protected_objects(snapshot_users: pl.DataFrame, snapshot_departments: pl.DataFrame,
                      protect: Protect) -> list[ProtectedObject]:
    """Every protected LMS user and department, each with the rule that applied."""
    out: list[ProtectedObject] = []

    def first_pattern(value: str, patterns: tuple[str, ...]) -> str:
        return next(p for p in patterns if re.match(wildcard_regex([p]), value.strip()))

    if protect.users:
        logins = snapshot_users.filter(protect.user_mask(pl.col("login")))["login"].sort().to_list()
        out += [ProtectedObject("user", lg, f'[protect] users "{first_pattern(lg, protect.users)}"') for lg in logins]
    if protect.departments:
        ids = protected_departments(snapshot_departments, protect)
        rows = snapshot_departments.filter(pl.col("id").is_in(list(ids)))
        code = dict(snapshot_departments.select("id", "code").iter_rows())
        parent = dict(snapshot_departments.select("id", "parent_id").iter_rows())
        top: dict[str, str] = {}  # each protected department -> the highest protected one above it (top-down)
        for lid in walk_up(ids, parent).parents_first:
            if lid in ids:
                top[lid] = top.get(parent[lid], parent[lid]) if parent.get(lid) in ids else lid
        for lid, c in sorted(rows.select("id", "code").iter_rows(), key=lambda r: (r[1] or "").casefold()):
            if c and any(re.match(wildcard_regex([p]), c.strip()) for p in protect.departments):
                why = f'[protect] departments "{first_pattern(c, protect.departments)}"'
            else:
                why = f"under protected department {code.get(top[lid])}"
            out.append(ProtectedObject("department", c or lid, why))
    return out


def protect_suggestions(snapshot_users: pl.DataFrame, sheet_logins: pl.Series, sheet_emails: pl.Series,
                        limit: int = 50) -> list[str]:
    """Active LMS users that no row of the sheet matches by login or email (admins, service
    accounts, people added by hand): candidates for `[protect] users`, by login."""
    logins = sheet_logins.str.strip_chars().str.to_lowercase().drop_nulls().implode()
    emails = sheet_emails.str.strip_chars().str.to_lowercase().drop_nulls().implode()
    alone = snapshot_users.filter(
        (pl.col("status") == "active")
        & ~pl.col("login").str.strip_chars().str.to_lowercase().is_in(logins)
        & ~pl.col("email").str.strip_chars().str.to_lowercase().fill_null("").is_in(emails))
    return alone["login"].sort().head(limit).to_list()
