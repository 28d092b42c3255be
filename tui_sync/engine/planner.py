"""From mapped sheets, an LMS snapshot and the ledger to a `Plan` (P1, P2).

Pure: reads nothing and writes nothing; `service` gathers the inputs.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timezone

import polars as pl

from ..beside import Beside
from ..errors import ConfigError, SourceError
from ..gcpause import gc_paused
from ..lms.base import Snapshot
from ..model import A1_PHASE, Change, Kind, Plan, Problem, Resolution, warning
from ..sources.table import Table
from .departments import DepartmentStep, plan_departments
from .mapping import mapped_frame
from .policy import FieldPolicy
from .protect import Protect, guard_departments, protected_departments
from .removal import plan_deletes
from .scope import Scope, apply_scope
from .users import plan_users


@dataclass(frozen=True)
class Inputs:
    departments: Table
    users: Table
    department_mapping: dict[str, str]
    user_mapping: dict[str, str]
    snapshot: Snapshot
    ledger_departments: pl.DataFrame  # lms_id, key
    ledger_users: pl.DataFrame
    department_scope: Scope = Scope()  # C1
    user_scope: Scope = Scope()
    protect: Protect = Protect()  # C2
    department_fields: dict[str, FieldPolicy] = field(default_factory=dict)  # C3
    user_fields: dict[str, FieldPolicy] = field(default_factory=dict)


def source_summary(t: Table) -> dict:
    summary = {"source": t.source, "format": t.format, "sheet": t.sheet, "rows": t.rows,
               "fingerprint": t.fingerprint}
    if t.encoding:
        summary["encoding"] = t.encoding_label
    return summary


def encoding_problems(departments: Table, users: Table) -> list[Problem]:
    """F1: a guessed code page is a warning that shows what it reads, so a wrong guess is seen
    before anything is applied."""
    return [
        warning("encoding_guessed", entity,
                f'the {entity}s sheet is not UTF-8; read as {t.encoding} (guessed): "{t.encoding_guessed}". '
                f'If these letters look wrong, set encoding = "…" in [{entity}s.source] to the file\'s code page')
        for entity, t in (("department", departments), ("user", users)) if t.encoding_guessed
    ]


def build_plan(inp: Inputs, resolutions: list[Resolution] | None = None) -> Plan:
    with gc_paused():
        return _build(inp, resolutions)


def _build(inp: Inputs, resolutions: list[Resolution] | None) -> Plan:
    resolutions = list(resolutions or [])
    for name, t in (("departments", inp.departments), ("users", inp.users)):
        if t.rows == 0:  # P2: an empty source plans nothing (and so removes nobody)
            raise SourceError(f"the {name} sheet has no data rows; nothing is planned",
                              where=t.source, hint="check that the file is the right one and not truncated")
    # C1: rows out of scope are as if absent (P3 counts the rows read, before scoping: `sources`)
    sources = {"departments": source_summary(inp.departments), "users": source_summary(inp.users)}
    scoped = {}
    for name, t, scope in (("departments", inp.departments, inp.department_scope),
                           ("users", inp.users, inp.user_scope)):
        scoped[name], _ = apply_scope(t, scope, name[:-1])
        sources[name]["out_of_scope"] = scoped[name].out_of_scope
        if scope:
            sources[name]["scope"] = [{"rule": scope.describe(i), "keeps": n.keeps, "drops": n.drops}
                                      for i, n in enumerate(scoped[name].counts)]
        if scoped[name].table.rows == 0:
            raise ConfigError(f"every row of the {name} sheet ({t.rows}) is out of scope; nothing is planned",
                              where=f"[{name}.scope]", hint="check the include and exclude rules")
    dframe = mapped_frame(scoped["departments"].table, inp.department_mapping, "department")
    uframe = mapped_frame(scoped["users"].table, inp.user_mapping, "user")
    snap = inp.snapshot
    # the departments are planned (mostly Python) while the users' keys are found (polars, outside the
    # GIL): the users ask for the departments' step when they place rows in departments (U4)
    planning_departments = Beside(_departments, dframe, inp)
    try:
        users = plan_users(uframe, inp.user_mapping, snap.users, inp.ledger_users, planning_departments.result,
                           extra_required=snap.required_fields, protect=inp.protect, policy=inp.user_fields)
    except BaseException:
        planning_departments.result()  # (a failure of the departments' own, when both fail, comes first)
        raise
    depts = planning_departments.result()
    deletes, delete_problems, blocked_by = plan_deletes(depts, users, snap.departments, snap.users, resolutions)

    changes: list[Change] = depts.changes + users.changes + deletes
    _unique_ids(changes)
    acting = {"user": [], "department": []}
    for c in changes:  # (a set of kinds: `Change.entity`, a property of a property, is slow over a large plan)
        if c.target is not None and c.identity is None:  # (the users' rules record most users' own)
            acting["user" if c.kind in _USER_KINDS else "department"].append(c)
    _identify(acting["user"], snap.users.select("id", "login", "email"), inp.ledger_users, users.matched)
    _identify(acting["department"], snap.departments.select("id", "code"), inp.ledger_departments, depts.matched)
    # stable sort: A1 phases, sheet order inside a phase (parents / children order kept)
    changes.sort(key=lambda c: A1_PHASE[c.kind])
    problems: list[Problem] = encoding_problems(inp.departments, inp.users) + depts.problems + users.problems \
        + delete_problems
    seen = set(problems)
    for c in changes:
        for p in c.problems:
            if p not in seen:
                problems.append(p)
                seen.add(p)
    return Plan(
        changes=changes, problems=problems, resolutions=resolutions,
        matched_departments=depts.matched, matched_users=users.matched,
        vanished_departments=_vanished(inp.ledger_departments, snap.departments),
        vanished_users=users.vanished,
        sources=sources, lms_users=snap.users.height,
        created_at=datetime.now(timezone.utc).isoformat(timespec="seconds"), blocked_by=blocked_by,
    )


def _departments(dframe: pl.DataFrame, inp: Inputs) -> DepartmentStep:
    """D1-D5 on the departments sheet, and C2's guard of the protected departments."""
    snap = inp.snapshot
    protected = protected_departments(snap.departments, inp.protect)  # C2
    depts = plan_departments(dframe, inp.department_mapping, snap.departments, inp.ledger_departments,
                             protected=protected, policy=inp.department_fields)
    guard_departments(depts, snap.departments, inp.protect, protected, inp.department_mapping.get("code"))
    return depts


_USER_KINDS = frozenset(k for k in Kind if k.entity == "user")


def _unique_ids(changes: list[Change]) -> None:
    """P1: a plan's change ids are unique. An id is made of a case-folded key, and an LMS may hold two
    objects whose keys differ only in case (iSpring allows it), or keys may fold alike (`straße`,
    `strasse`): such changes are told apart by their target (LMS id), else their row, and a change
    that depended on the shared id depends on each of them (but itself)."""
    ids = [c.id for c in changes]
    if len(set(ids)) == len(ids):
        return
    count = Counter(ids)
    renamed: dict[str, list[str]] = {}
    for i, c in enumerate(changes):
        if count[c.id] > 1:
            apart = c.target if c.target is not None else f"row{c.row if c.row is not None else i}"
            renamed.setdefault(c.id, []).append(f"{c.id}#{apart}")
            c.id = renamed[c.id][-1]
    for c in changes:
        if any(d in renamed for d in c.depends_on):
            c.depends_on = list(dict.fromkeys(n for d in c.depends_on for n in renamed.get(d, [d]) if n != c.id))


def _identify(acting: list[Change], lms: pl.DataFrame, ledger: pl.DataFrame,
              matched: dict[str, str | None]) -> None:
    """A4: each change that acts on an existing object of one entity records what its target is now
    (users: login, email; departments: code) and the unique key it carries after this plan (the
    row's, else the ledger's), for apply to check. (The users' rules record it for the updates,
    status changes and removals they make, from what they gathered; this finds the rest.)"""
    if not acting:
        return
    targets = pl.Series("id", list({c.target for c in acting}), dtype=pl.String).implode()
    # (filters by the set of targets rather than joins: the large side is not hashed)
    now = lms.filter(pl.col("id").is_in(targets))
    keys = ledger.filter(pl.col("lms_id").is_in(targets)).select(pl.col("lms_id").alias("id"), "key")
    known = now.join(keys, on="id", how="left")  # (ids are unique on both sides)
    # one identity per target, shared by its changes: a value nothing changes once planned
    identity_of = dict(zip(known["id"].to_list(), known.drop("id").to_dicts()))
    for target, key in matched.items():  # the key after this plan: the row's
        if target in identity_of:
            identity_of[target]["key"] = key
    for c in acting:
        identity = identity_of.get(c.target)
        if identity is not None:
            c.identity = identity


def _vanished(ledger: pl.DataFrame, lms: pl.DataFrame) -> list[str]:
    return ledger.join(lms.select(pl.col("id").alias("lms_id")), on="lms_id", how="anti")["lms_id"].to_list()
