"""Departments: validate (D1), match (D2), check the hierarchy (D3), plan creates and updates.

Matching runs as polars joins; the tree checks walk departments (N/100 of the
users), not sheet rows.
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field

import polars as pl

from ..hierarchy import depths, walk_up
from ..model import Change, Kind, Problem, error
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
    policy = policy or {}
    use_key = "departmentUniqueKey" in df.columns
    has_parent = "parentCode" in df.columns
    marks = RowProblems("department")
    lms = lms.with_columns(norm("code").alias("code_n"))
    known = ledger.join(lms.select(pl.col("id").alias("lms_id")), on="lms_id", how="semi").with_columns(
        norm("key").alias("key_n"))  # L1: the ledger's departments that still exist
    rows = df.lazy().with_columns(
        norm("code").alias("code_n"),
        (norm("departmentUniqueKey") if use_key else pl.lit(None, pl.String)).alias("key_n"),
        (norm("parentCode") if has_parent else pl.lit(None, pl.String)).alias("parent_n"),
        pl.lit(False).alias(ERR),
    )
    df = marks.collect(_d1_required_and_unique(rows, mapping, marks, use_key).collect(engine="in-memory"))
    if use_key:
        df, several = _d2_match_by_key_or_code(df, mapping, lms, known, marks)
    else:
        df, several = _d2_match_by_code(df, mapping, lms, marks)
    df = _d2_one_row_per_department(df, mapping, marks)

    named = set(df["by_code"].drop_nulls().to_list()) | several
    if use_key:
        named |= set(df["by_key"].drop_nulls().to_list())
    managed = set(known["lms_id"].to_list()) - protected  # C2: a protected department's deletion is never planned

    # D3 hierarchy, in Python over departments: codes after the plan, then parents, then cycles
    lms_rows = {department["id"]: department for department in lms.iter_rows(named=True)}
    rows = _sheet_rows(df, use_key, has_parent)
    by_code = _codes_after_plan(lms_rows, rows, managed, named)
    valid = [row for row in rows if not row[ERR]]
    code_of, parent_of = _codes_and_parents(lms_rows, valid, has_parent)
    _c3_hold_parents(valid, has_parent, policy.get("parentCode"), code_of, parent_of)
    tree = _Hierarchy(by_code, parent_of, code_of, valid, mapping.get("parentCode"))
    if has_parent:
        tree.settle_parents(valid)
        tree.fail_cycles(valid)

    changes, create_id, matched = _creates_and_updates(valid, lms_rows, parent_of, policy, has_parent)
    return DepartmentStep(
        changes=_parents_first(changes, parent_of), problems=marks.problems() + tree.problems, by_code=by_code,
        code_of=code_of, parent_of=parent_of,
        lms_code_of={lms_id: department["code"] for lms_id, department in lms_rows.items()},
        row_of={row["ref"]: row[ROW] for row in rows if row.get("ref")}, create_id=create_id, named=named,
        matched=matched, managed=managed,
    )


def _d1_required_and_unique(rows: pl.LazyFrame, mapping: dict[str, str], marks: RowProblems,
                            use_key: bool) -> pl.LazyFrame:
    """D1: code and name (and the unique key, when mapped) are required; codes and keys are unique;
    F4: no control characters in codes and keys. (Each rule marks its rows; the caller collects.)"""
    column = mapping.get
    for required in ("code", "name", *(("departmentUniqueKey",) if use_key else ())):
        rows = marks.mark(rows, pl.col(required).is_null(), "missing_value",
                          pl.format("{} is blank: every department needs one", pl.lit(column(required))),
                          key="code", column=column(required))
    rows = invalid_characters(marks, rows, ("code", "parentCode", "departmentUniqueKey"), mapping, key="code")
    rows = marks.mark(rows, duplicated("code_n"), "duplicate_department_key",
                      pl.format("code {} appears on more than one row; none of them is applied", pl.col("code")),
                      key="code", column=column("code"))
    if use_key:
        rows = marks.mark(rows, duplicated("key_n"), "duplicate_department_key",
                          pl.format("unique key {} appears on more than one row; none of them is applied",
                                    pl.col("departmentUniqueKey")),
                          key="code", column=column("departmentUniqueKey"))
    return rows


def _d2_match_by_code(df: pl.DataFrame, mapping: dict[str, str], lms: pl.DataFrame,
                      marks: RowProblems) -> tuple[pl.DataFrame, set[str]]:
    """D2 without a unique key: a row is the LMS department with its code (`_d2_several`: unless
    the LMS holds that code more than once)."""
    height = df.height
    df = df.join(lms.select("code_n", pl.col("id").alias("by_code")), on="code_n", how="left")
    df, several = _d2_several(df, height, mapping, lms, marks)
    return df.with_columns(pl.col("by_code").alias("target"),
                           pl.when(pl.col("by_code").is_not_null()).then(pl.lit("code")).alias("rule")), several


def _d2_match_by_key_or_code(df: pl.DataFrame, mapping: dict[str, str], lms: pl.DataFrame, known: pl.DataFrame,
                             marks: RowProblems) -> tuple[pl.DataFrame, set[str]]:
    """D2 with a unique key: by the key through the ledger, else (once) by code; a code held by a
    department the ledger knows under another key, or a key and a code naming two departments,
    is `identity_conflict`, and so is a row either finds several departments by (`_d2_several`)."""
    height = df.height
    df = df.join(lms.select("code_n", pl.col("id").alias("by_code")), on="code_n", how="left")
    df = df.join(known.select("key_n", pl.col("lms_id").alias("by_key")), on="key_n", how="left")
    df, several = _d2_several(df, height, mapping, lms, marks)
    df = df.join(known.select(pl.col("lms_id").alias("by_code"), pl.col("key_n").alias("code_key")),
                 on="by_code", how="left")
    df = df.with_columns(
        pl.coalesce("by_key", "by_code").alias("target"),
        pl.when(pl.col("by_key").is_not_null()).then(pl.lit("departmentUniqueKey"))
        .when(pl.col("by_code").is_not_null()).then(pl.lit("code")).alias("rule"),
    )
    df = marks.add(
        df, ~pl.col(ERR) & pl.col("by_key").is_null() & pl.col("code_key").is_not_null()
        & neq(pl.col("code_key"), pl.col("key_n")),
        "identity_conflict",
        pl.format("code {} belongs to a department the sync knows under another unique key ({})",
                  pl.col("code"), pl.col("code_key")),
        key="code", column=mapping.get("departmentUniqueKey"))
    return marks.add(
        df, ~pl.col(ERR) & pl.col("by_key").is_not_null() & pl.col("by_code").is_not_null()
        & (pl.col("by_key") != pl.col("by_code")),
        "identity_conflict",
        pl.format("unique key {} names one department but code {} is held by another one in the LMS",
                  pl.col("departmentUniqueKey"), pl.col("code")),
        key="code", column=mapping.get("code")), several


# D2: what a row that finds several LMS departments by one lookup is told, and where
_SEVERAL_SAYS = {
    "by_key": ("departmentUniqueKey", "the ledger records unique key {value} for {n} LMS departments: ids {ids}; "
                                      "delete or merge the wrong one in the LMS (its ledger entry goes with it)"),
    "by_code": ("code", "the LMS holds {n} departments with code {value}: ids {ids}; merge or rename one in the LMS"),
}


def _d2_several(df: pl.DataFrame, height: int, mapping: dict[str, str], lms: pl.DataFrame,
                marks: RowProblems) -> tuple[pl.DataFrame, set[str]]:
    """D2 where the lookups found several LMS departments for a row (the joins repeated it: the LMS
    holds its code in two cases, as iSpring allows; the ledger holds its key for two departments).
    Such a row finds none (no change: one `identity_conflict` at the first such column, naming
    them); the others keep what they found. Returns the rows once each, and every LMS id the rows
    that found several point to (D4: they still name them)."""
    if df.height == height:
        return df, set()
    lookups = [n for n in _SEVERAL_SAYS if n in df.columns]
    found = df.group_by(ROW, maintain_order=True).agg(pl.col(n).drop_nulls().unique() for n in lookups)
    found = found.filter(pl.any_horizontal(pl.col(n).list.len() > 1 for n in lookups))
    df = df.unique(ROW, keep="first", maintain_order=True)
    if not found.height:
        return df, set()
    position = {lms_id: i for i, lms_id in enumerate(lms["id"].to_list())}
    code_of = dict(lms.select("id", "code").iter_rows())
    value_of = dict(zip(df[ROW].to_list(), df.select(
        "code", "departmentUniqueKey" if "departmentUniqueKey" in df.columns else pl.lit(None)).iter_rows()))
    why, where, several = {}, {}, set()
    for row in found.iter_rows(named=True):
        parts = []
        for n in lookups:
            several.update(row[n])  # (what it finds by one lookup, and by the other)
            if len(row[n]) > 1:
                ids = sorted(row[n], key=position.__getitem__)
                where.setdefault(row[ROW], n)
                value = value_of[row[ROW]][0 if n == "by_code" else 1]
                listed = ", ".join(f"{lms_id} ({code_of[lms_id]})" for lms_id in ids)
                parts.append(_SEVERAL_SAYS[n][1].format(n=len(ids), value=value, ids=listed))
        why[row[ROW]] = "; ".join(parts) + "; the row is not applied"
    at = pl.col(ROW).is_in(list(why))
    df = df.with_columns(pl.col(ROW).replace_strict(why, default=None, return_dtype=pl.String).alias("__why"),
                         pl.col(ROW).replace_strict(where, default=None, return_dtype=pl.String).alias("__where"))
    for n in lookups:
        df = marks.add(df, pl.col("__where") == n, "identity_conflict", pl.col("__why"), key="code",
                       column=mapping.get(_SEVERAL_SAYS[n][0]))
    return df.with_columns(pl.when(at).then(None).otherwise(pl.col(n)).alias(n) for n in lookups
                           ).drop("__why", "__where"), several


def _d2_one_row_per_department(df: pl.DataFrame, mapping: dict[str, str], marks: RowProblems) -> pl.DataFrame:
    """D2: two rows that identify the same LMS department are `identity_conflict`."""
    return marks.add(df, ~pl.col(ERR) & pl.col("target").is_not_null() & (pl.len().over("target", ERR) > 1),
                     "identity_conflict", pl.format("row identifies the same LMS department as another row"),
                     key="code", column=mapping.get("code"))


def _sheet_rows(df: pl.DataFrame, use_key: bool, has_parent: bool) -> list[dict]:
    """The rows as dicts for the tree checks (unmapped parent and key columns as nulls)."""
    return df.select(ROW, "code", "code_n", "name", "parentCode" if has_parent else pl.lit(None).alias("parentCode"),
                     "parent_n", "target", "rule", ERR,
                     "departmentUniqueKey" if use_key else pl.lit(None, pl.String).alias("departmentUniqueKey")
                     ).to_dicts()


def _has_error(row: dict) -> Target:
    """U4, D3: a department whose own row has an error counts as unknown."""
    return Target(None, False, f"department {row['code']} (row {row[ROW]}) has an error")


def _codes_after_plan(lms_rows: dict[str, dict], rows: list[dict], managed: set[str],
                      named: set[str]) -> dict[str, Target]:
    """What each normalised code names after the plan (U4, D3): a row's department (an LMS id or
    NEW+code, set as the row's `ref`), else the LMS department no row claims; one being deleted (D4)
    or whose row has an error is not usable, nor is a code that several LMS departments that stay
    hold (in other cases, as iSpring allows) and no row claims."""
    claimed = {row["target"] for row in rows if row["target"]}
    by_code: dict[str, Target] = {}
    staying: dict[str, list[str]] = {}  # code -> the unclaimed LMS departments that stay, when several
    for lms_id, department in lms_rows.items():
        code_n = department["code_n"]
        if lms_id in claimed or not code_n:
            continue
        before = by_code.get(code_n)
        if lms_id in managed and lms_id not in named:
            if before is None or not before.ok:
                by_code[code_n] = Target(lms_id, False, f"department {department['code']} is to be deleted "
                                                        "(no row names it)")
        elif before is not None and before.ok:
            staying.setdefault(code_n, [before.ref]).append(lms_id)
        else:
            by_code[code_n] = Target(lms_id, True)
    for code_n, ids in staying.items():
        listed = ", ".join(f"{lms_id} ({lms_rows[lms_id]['code']})" for lms_id in ids)
        by_code[code_n] = Target(None, False, f"the LMS holds {len(ids)} departments with code {code_n}: ids {listed}; "
                                              "merge or rename one in the LMS")
    for row in rows:
        if row["code_n"] is None:
            continue
        row["ref"] = row["target"] or NEW + row["code_n"]
        if row[ERR]:
            if row["code_n"] not in by_code or by_code[row["code_n"]].ok:
                by_code[row["code_n"]] = _has_error(row)
        else:
            by_code[row["code_n"]] = Target(row["ref"], True)
    return by_code


def _codes_and_parents(lms_rows: dict[str, dict], valid: list[dict], has_parent: bool
                       ) -> tuple[dict[str, str], dict[str, str | None]]:
    """ref -> code as it will read, and ref -> parent as far as known before D3 settles the rows'
    parents: LMS departments keep theirs, and so (when no parent column is mapped) do matched ones;
    new ones then go on top."""
    parent_of: dict[str, str | None] = {lms_id: department["parent_id"] for lms_id, department in lms_rows.items()}
    code_of: dict[str, str] = {lms_id: department["code"]
                               for lms_id, department in lms_rows.items() if department["code"]}
    for row in valid:
        code_of[row["ref"]] = row["code"]
        if not has_parent:
            parent_of[row["ref"]] = parent_of.get(row["ref"]) if row["target"] else None
    return code_of, parent_of


def _c3_hold_parents(valid: list[dict], has_parent: bool, parent_policy: FieldPolicy | None,
                     code_of: dict[str, str], parent_of: dict[str, str | None]) -> None:
    """C3: a matched department whose parent the policy holds back keeps its LMS parent."""
    for row in valid:
        row["hold_parent"] = has_parent and row["target"] is not None and not allows(
            parent_policy, code_of.get(parent_of.get(row["target"])), row["parentCode"])


class _Hierarchy:
    """D3 over the valid rows: each one's parent after the plan, unknown parents and cycles.

    A row that fails makes its code unusable (`by_code`), so the rows under it are checked again:
    each row a bounded number of times, so a chain 20,000 deep takes one pass, not 20,000."""

    def __init__(self, by_code: dict[str, Target], parent_of: dict[str, str | None], code_of: dict[str, str],
                 valid: list[dict], parent_column: str | None) -> None:
        self.by_code, self.parent_of, self.code_of = by_code, parent_of, code_of
        self.parent_column = parent_column
        self.problems: list[Problem] = []
        self.children: dict[str, list[dict]] = {}
        for row in valid:
            if row["parent_n"] is not None:
                self.children.setdefault(row["parent_n"], []).append(row)
        self.zero_padded = dict(zeros_dropped(list(by_code)).iter_rows())  # "7" -> "007": a hint for unknown_parent

    def fail(self, row: dict, code: str, message: str) -> None:
        row[ERR] = True
        self.problems.append(error(code, "department", message, row=row[ROW], column=self.parent_column,
                                   key=row["code"]))
        self.by_code[row["code_n"]] = _has_error(row)

    def settle_parents(self, rows: list[dict]) -> None:
        """D3: `parentCode` names a usable department in the file or the LMS, else `unknown_parent`
        (and the rows under it are checked again); a department that is its own parent is a cycle."""
        work = deque(rows)
        while work:
            row = work.popleft()
            if row[ERR] or row["hold_parent"]:
                continue
            if row["parent_n"] is None:
                self.parent_of[row["ref"]] = None
                continue
            if row["parent_n"] == row["code_n"]:
                self.fail(row, "department_cycle", f"department {row['code']} names itself as its parent")
                work.extend(self.children.get(row["code_n"], ()))  # (a child settled before it fails too)
                continue
            parent = self.by_code.get(row["parent_n"])
            if parent is None or not parent.ok:
                why = self._unknown_parent_reason(row, parent)
                self.fail(row, "unknown_parent", f"parent {row['parentCode']}: {why}")
                work.extend(self.children.get(row["code_n"], ()))
                continue
            self.parent_of[row["ref"]] = parent.ref

    def _unknown_parent_reason(self, row: dict, parent: Target | None) -> str:
        if parent is not None:
            return parent.reason
        hint = (f"; {self.zero_padded[row['parent_n']]} does: did a spreadsheet drop its leading zeros? "
                "Keep the column as text") if row["parent_n"] in self.zero_padded else ""
        return f"no department has code {row['parentCode']} in the file or the LMS{hint}"

    def fail_cycles(self, valid: list[dict]) -> None:
        """D3: a cycle (a move under its own descendant too) is `department_cycle` on every department
        in it, with the path; the rows under them are then checked again."""
        row_of_ref = {row["ref"]: row for row in valid}
        while cycles := walk_up([row["ref"] for row in valid if not row[ERR]], self.parent_of).cycles:
            failed: list[dict] = []
            for cycle in cycles:
                path = " → ".join(self.code_of.get(ref, ref) for ref in (*cycle, cycle[0]))
                for ref in cycle:
                    row = row_of_ref.get(ref)
                    if row is not None and not row[ERR]:
                        self.fail(row, "department_cycle", f"parent codes form a cycle: {path}")
                        failed.append(row)
            if not failed:
                break
            self.settle_parents([child for row in failed for child in self.children.get(row["code_n"], ())])


def _creates_and_updates(valid: list[dict], lms_rows: dict[str, dict], parent_of: dict[str, str | None],
                         policy: dict[str, FieldPolicy], has_parent: bool
                         ) -> tuple[list[Change], dict[str, str], dict[str, str | None]]:
    """A create for each valid row without an LMS department, an update for each matched one that
    differs; and (L1) the matched LMS ids with their unique keys."""
    changes: list[Change] = []
    create_id: dict[str, str] = {}
    matched: dict[str, str | None] = {}
    for row in valid:
        if row[ERR]:
            continue
        parent = parent_of.get(row["ref"])
        needs = [change_id(Kind.CREATE_DEPARTMENT, parent[len(NEW):])] if parent and parent.startswith(NEW) else []
        if row["target"] is None:
            create = _create(row, has_parent, needs)
            create_id[row["ref"]] = create.id
            changes.append(create)
            continue
        matched[row["target"]] = row["departmentUniqueKey"]
        update = _update(row, lms_rows, parent, policy, has_parent, needs)
        if update is not None:
            changes.append(update)
    return changes, create_id, matched


def _create(row: dict, has_parent: bool, needs: list[str]) -> Change:
    fields = {"code": (None, row["code"]), "name": (None, row["name"])}
    if has_parent:
        fields["parentCode"] = (None, row["parentCode"])
    return Change(change_id(Kind.CREATE_DEPARTMENT, row["code"]), Kind.CREATE_DEPARTMENT, row["code"], fields,
                  row=row[ROW], depends_on=needs, unique_key=row["departmentUniqueKey"])


def _update(row: dict, lms_rows: dict[str, dict], parent: str | None, policy: dict[str, FieldPolicy],
            has_parent: bool, needs: list[str]) -> Change | None:
    """The fields of a matched department that change (C3: as its policy allows)."""
    now = lms_rows[row["target"]]
    fields = {}
    if now["code"] != row["code"] and allows(policy.get("code"), now["code"], row["code"]):
        fields["code"] = (now["code"], row["code"])
    if now["name"] != row["name"] and allows(policy.get("name"), now["name"], row["name"]):
        fields["name"] = (now["name"], row["name"])
    if has_parent and now["parent_id"] != parent:  # U10: compared as LMS objects, not codes
        before = lms_rows[now["parent_id"]]["code"] if now["parent_id"] in lms_rows else None
        fields["parentCode"] = (before, row["parentCode"])
    if not fields:
        return None
    return Change(change_id(Kind.UPDATE_DEPARTMENT, row["code"]), Kind.UPDATE_DEPARTMENT, row["code"], fields,
                  row=row[ROW], rule=row["rule"], target=row["target"], depends_on=needs)


def _parents_first(changes: list[Change], parent_of: dict[str, str | None]) -> list[Change]:
    """Creates in tree order (A1: parents first); updates after, in sheet order."""
    creates = {NEW + c.key.casefold(): c for c in changes if c.kind is Kind.CREATE_DEPARTMENT}
    new_parent = {ref: parent for ref, parent in parent_of.items()
                  if parent is not None and ref.startswith(NEW) and parent.startswith(NEW)}
    depth = depths(creates, new_parent)  # how many created departments are above each one
    ordered = sorted(creates.values(), key=lambda c: (depth[NEW + c.key.casefold()], c.row or 0))
    return ordered + [c for c in changes if c.kind is not Kind.CREATE_DEPARTMENT]


__all__ = ["DepartmentStep", "Target", "NEW", "plan_departments", "change_id"]
