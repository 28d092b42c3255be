"""Departments: validate (D1), match (D2), check the hierarchy (D3), plan creates and updates.

Matching runs as polars joins; the tree checks walk departments (N/100 of the
users), not sheet rows.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import polars as pl

from ..model import Change, Kind, Problem, Severity, error
from ..sources.table import ROW
from .frames import ERR, RowProblems, duplicated, invalid_characters, neq, norm, zeros_dropped
from .policy import FieldPolicy, allows

NEW = "new:"  # refs of departments the plan creates: NEW + normalised code


@dataclass(frozen=True)
class Target:
    """What a department code means after the plan: `ref` is an LMS id or NEW+code."""

    ref: str | None
    ok: bool
    reason: str = ""  # why it cannot be used (row error, being deleted)


@dataclass
class DepartmentStep:
    changes: list[Change]
    problems: list[Problem]
    by_code: dict[str, Target]  # normalised code -> what it names after the plan
    code_of: dict[str, str]  # ref -> code as it will read (sheet spelling)
    lms_code_of: dict[str, str]  # LMS id -> code as it reads now
    parent_of: dict[str, str | None]  # ref -> parent ref after the plan (None = top level)
    row_of: dict[str, int]  # ref -> sheet row
    create_id: dict[str, str]  # NEW ref -> id of its create_department change
    named: set[str]  # LMS ids some row names (D4: never deleted)
    matched: dict[str, str | None]  # L1: LMS id -> unique key, for rows without errors
    managed: set[str] = field(default_factory=set)  # ledger ∩ LMS


def change_id(kind: Kind, key: str) -> str:
    return f"{kind.value}:{key.casefold()}"


def plan_departments(
    df: pl.DataFrame,
    mapping: dict[str, str],
    lms: pl.DataFrame,
    ledger: pl.DataFrame,
    *,
    protected: set[str] | frozenset[str] = frozenset(),
    policy: dict[str, FieldPolicy] | None = None,
) -> DepartmentStep:
    """`protected`: LMS ids no sync deletes (C2); `policy`: when a field of a matched department
    is written (C3)."""
    col = mapping.get
    policy = policy or {}
    use_key = "departmentUniqueKey" in df.columns
    has_parent = "parentCode" in df.columns
    rp = RowProblems("department")

    lms = lms.with_columns(norm("code").alias("code_n"))
    led = ledger.join(lms.select(pl.col("id").alias("lms_id")), on="lms_id", how="semi").with_columns(
        norm("key").alias("key_n")
    )
    df = df.with_columns(
        norm("code").alias("code_n"),
        (norm("departmentUniqueKey") if use_key else pl.lit(None, pl.String)).alias("key_n"),
        (norm("parentCode") if has_parent else pl.lit(None, pl.String)).alias("parent_n"),
        pl.lit(False).alias(ERR),
    )

    # D1 required fields and duplicate keys
    for f in ("code", "name", *(("departmentUniqueKey",) if use_key else ())):
        df = rp.add(df, pl.col(f).is_null(), "missing_value",
                    pl.format("{} is blank: every department needs one", pl.lit(col(f))), key="code", column=col(f))
    df = rp.collect(invalid_characters(rp, df, ("code", "parentCode", "departmentUniqueKey"), mapping, key="code"))
    df = rp.add(df, duplicated("code_n"), "duplicate_department_key",
                pl.format("code {} appears on more than one row; none of them is applied", pl.col("code")),
                key="code", column=col("code"))
    if use_key:
        df = rp.add(df, duplicated("key_n"), "duplicate_department_key",
                    pl.format("unique key {} appears on more than one row; none of them is applied",
                              pl.col("departmentUniqueKey")),
                    key="code", column=col("departmentUniqueKey"))

    # D2 matching: by unique key through the ledger, else (once) by code
    df = df.join(lms.select("code_n", pl.col("id").alias("by_code")), on="code_n", how="left")
    if use_key:
        df = df.join(led.select("key_n", pl.col("lms_id").alias("by_key")), on="key_n", how="left")
        df = df.join(led.select(pl.col("lms_id").alias("by_code"), pl.col("key_n").alias("code_key")),
                     on="by_code", how="left")
        df = df.with_columns(
            pl.coalesce("by_key", "by_code").alias("target"),
            pl.when(pl.col("by_key").is_not_null()).then(pl.lit("departmentUniqueKey"))
            .when(pl.col("by_code").is_not_null()).then(pl.lit("code")).alias("rule"),
        )
        df = rp.add(
            df, ~pl.col(ERR) & pl.col("by_key").is_null() & pl.col("code_key").is_not_null()
            & neq(pl.col("code_key"), pl.col("key_n")),
            "identity_conflict",
            pl.format("code {} belongs to a department the sync knows under another unique key ({})",
                      pl.col("code"), pl.col("code_key")),
            key="code", column=col("departmentUniqueKey"))
        df = rp.add(
            df, ~pl.col(ERR) & pl.col("by_key").is_not_null() & pl.col("by_code").is_not_null()
            & (pl.col("by_key") != pl.col("by_code")),
            "identity_conflict",
            pl.format("unique key {} names one department but code {} is held by another one in the LMS",
                      pl.col("departmentUniqueKey"), pl.col("code")),
            key="code", column=col("code"))
    else:
        df = df.with_columns(pl.col("by_code").alias("target"),
                             pl.when(pl.col("by_code").is_not_null()).then(pl.lit("code")).alias("rule"))
    df = rp.add(df, ~pl.col(ERR) & pl.col("target").is_not_null() & (pl.len().over("target", ERR) > 1),
                "identity_conflict", pl.format("row identifies the same LMS department as another row"),
                key="code", column=col("code"))

    named = set(df["by_code"].drop_nulls().to_list())
    if use_key:
        named |= set(df["by_key"].drop_nulls().to_list())
    managed = set(led["lms_id"].to_list()) - protected  # C2: a protected department's deletion is never planned

    # D3 hierarchy, in Python over departments: codes after the plan, then parents, then cycles
    lms_rows = {r["id"]: r for r in lms.iter_rows(named=True)}
    rows = df.select(ROW, "code", "code_n", "name", "parentCode" if has_parent else pl.lit(None).alias("parentCode"),
                     "parent_n", "target", "rule", ERR,
                     "departmentUniqueKey" if use_key else pl.lit(None, pl.String).alias("departmentUniqueKey")
                     ).to_dicts()
    claimed = {r["target"] for r in rows if r["target"]}
    by_code: dict[str, Target] = {}
    for lid, r in lms_rows.items():
        if lid in claimed or not r["code_n"]:
            continue
        if lid in managed and lid not in named:
            by_code[r["code_n"]] = Target(lid, False, f"department {r['code']} is to be deleted (no row names it)")
        else:
            by_code[r["code_n"]] = Target(lid, True)
    for r in rows:
        if r["code_n"] is None:
            continue
        r["ref"] = r["target"] or NEW + r["code_n"]
        if r[ERR]:
            if r["code_n"] not in by_code or by_code[r["code_n"]].ok:
                by_code[r["code_n"]] = Target(None, False, f"department {r['code']} (row {r[ROW]}) has an error")
        else:
            by_code[r["code_n"]] = Target(r["ref"], True)

    extra: list[Problem] = []
    valid = [r for r in rows if not r[ERR]]

    def fail(r: dict, code: str, message: str, column: str | None) -> None:
        r[ERR] = True
        extra.append(error(code, "department", message, row=r[ROW], column=column, key=r["code"]))
        by_code[r["code_n"]] = Target(None, False, f"department {r['code']} (row {r[ROW]}) has an error")

    # final parents: untouched LMS departments keep theirs
    parent_of: dict[str, str | None] = {lid: r["parent_id"] for lid, r in lms_rows.items()}
    code_of: dict[str, str] = {lid: r["code"] for lid, r in lms_rows.items() if r["code"]}
    for r in valid:
        code_of[r["ref"]] = r["code"]
        if not has_parent:
            parent_of[r["ref"]] = parent_of.get(r["ref"]) if r["target"] else None
    parent_policy = policy.get("parentCode")
    for r in valid:  # C3: a matched department whose parent the policy holds back keeps its LMS parent
        r["hold_parent"] = has_parent and r["target"] is not None and not allows(
            parent_policy, code_of.get(parent_of.get(r["target"])), r["parentCode"])
    # An error propagates down the tree: a row whose parent fails is checked again (each row a
    # bounded number of times, so a chain 20,000 deep takes one pass, not 20,000).
    children: dict[str, list[dict]] = {}
    for r in valid:
        if r["parent_n"] is not None:
            children.setdefault(r["parent_n"], []).append(r)
    padded = dict(zeros_dropped(list(by_code)).iter_rows())  # "7" -> "007": a hint for unknown_parent

    def settle(rows: list[dict]) -> None:
        work = deque(rows)
        while work:
            r = work.popleft()
            if r[ERR] or r["hold_parent"]:
                continue
            if r["parent_n"] is None:
                parent_of[r["ref"]] = None
                continue
            if r["parent_n"] == r["code_n"]:
                fail(r, "department_cycle", f"department {r['code']} names itself as its parent", col("parentCode"))
                continue
            t = by_code.get(r["parent_n"])
            if t is None or not t.ok:
                why = t.reason if t else f"no department has code {r['parentCode']} in the file or the LMS" + (
                    f"; {padded[r['parent_n']]} does: did a spreadsheet drop its leading zeros? Keep the column as text"
                    if r["parent_n"] in padded else "")
                fail(r, "unknown_parent", f"parent {r['parentCode']}: {why}", col("parentCode"))
                work.extend(children.get(r["code_n"], ()))
                continue
            parent_of[r["ref"]] = t.ref

    if has_parent:
        settle(valid)
        row_of_ref = {r["ref"]: r for r in valid}
        while cycles := _cycles([r["ref"] for r in valid if not r[ERR]], parent_of):
            failed: list[dict] = []
            for cycle in cycles:
                path = " → ".join(code_of.get(x, x) for x in (*cycle, cycle[0]))
                for ref in cycle:
                    r = row_of_ref.get(ref)
                    if r is not None and not r[ERR]:
                        fail(r, "department_cycle", f"parent codes form a cycle: {path}", col("parentCode"))
                        failed.append(r)
            if not failed:
                break
            settle([c for r in failed for c in children.get(r["code_n"], ())])

    # changes
    changes: list[Change] = []
    create_id: dict[str, str] = {}
    matched: dict[str, str | None] = {}
    row_of = {r["ref"]: r[ROW] for r in rows if r.get("ref")}
    for r in valid:
        if r[ERR]:
            continue
        pref = parent_of.get(r["ref"])
        deps = [change_id(Kind.CREATE_DEPARTMENT, pref[len(NEW):])] if pref and pref.startswith(NEW) else []
        if r["target"] is None:
            fields = {"code": (None, r["code"]), "name": (None, r["name"])}
            if has_parent:
                fields["parentCode"] = (None, r["parentCode"])
            cid = change_id(Kind.CREATE_DEPARTMENT, r["code"])
            create_id[r["ref"]] = cid
            changes.append(Change(cid, Kind.CREATE_DEPARTMENT, r["code"], fields, row=r[ROW], depends_on=deps,
                                  unique_key=r["departmentUniqueKey"]))
            continue
        matched[r["target"]] = r["departmentUniqueKey"]
        now = lms_rows[r["target"]]
        fields = {}
        if now["code"] != r["code"] and allows(policy.get("code"), now["code"], r["code"]):
            fields["code"] = (now["code"], r["code"])
        if now["name"] != r["name"] and allows(policy.get("name"), now["name"], r["name"]):
            fields["name"] = (now["name"], r["name"])
        if has_parent and now["parent_id"] != pref:  # U10: compared as LMS objects, not codes
            before = lms_rows[now["parent_id"]]["code"] if now["parent_id"] in lms_rows else None
            fields["parentCode"] = (before, r["parentCode"])
        if fields:
            changes.append(Change(change_id(Kind.UPDATE_DEPARTMENT, r["code"]), Kind.UPDATE_DEPARTMENT, r["code"],
                                  fields, row=r[ROW], rule=r["rule"], target=r["target"], depends_on=deps))
    changes = _parents_first(changes, parent_of)
    return DepartmentStep(
        changes=changes, problems=rp.problems() + extra, by_code=by_code, code_of=code_of,
        parent_of=parent_of, lms_code_of={lid: r["code"] for lid, r in lms_rows.items()}, row_of=row_of, create_id=create_id, named=named, matched=matched,
        managed=managed,
    )


def _cycles(refs: list[str], parent_of: dict[str, str | None]) -> list[tuple[str, ...]]:
    """Every cycle in the parent links reachable from `refs` (each reported once)."""
    state: dict[str, int] = {}  # 1 = on the current path, 2 = done
    found: list[tuple[str, ...]] = []
    for start in refs:
        path: list[str] = []
        node: str | None = start
        while node is not None and state.get(node) is None:
            state[node] = 1
            path.append(node)
            node = parent_of.get(node)
        if node is not None and state.get(node) == 1:
            found.append(tuple(path[path.index(node):]))
        for p in path:
            state[p] = 2
    return found


def _parents_first(changes: list[Change], parent_of: dict[str, str | None]) -> list[Change]:
    """Creates in tree order (A1: parents first); updates after, in sheet order."""
    creates = {c.fields["code"][1].casefold(): c for c in changes if c.kind is Kind.CREATE_DEPARTMENT}
    depth: dict[str, int] = {}  # NEW ref -> how many created departments are above it

    def depth_of(code_n: str) -> int:  # each department walked once: linear in the depth of the tree
        path, ref = [], NEW + code_n
        while ref and ref.startswith(NEW) and ref not in depth and len(path) <= len(creates):
            path.append(ref)
            ref = parent_of.get(ref)
        d = depth.get(ref, -1) if ref else -1
        for r in reversed(path):
            d += 1
            depth[r] = d
        return depth[NEW + code_n]

    ordered = sorted(creates.values(), key=lambda c: (depth_of(c.key.casefold()), c.row or 0))
    return ordered + [c for c in changes if c.kind is not Kind.CREATE_DEPARTMENT]


__all__ = ["DepartmentStep", "Target", "NEW", "plan_departments", "change_id", "Severity"]
