"""Small builders for engine tests: sheets, LMS snapshots and ledgers from plain rows."""
from __future__ import annotations

from typing import Any

import polars as pl

from tui_sync.engine.planner import Inputs, build_plan
from tui_sync.lms.base import CUSTOM_PREFIX, DEPARTMENT_SCHEMA, USER_SCHEMA, Snapshot
from tui_sync.model import Plan, Resolution
from tui_sync.sources.table import ROW, Table

DEPT_COLUMNS = ("code", "name", "parentCode")
USER_COLUMNS = ("login", "email", "firstName", "lastName", "departmentId")


def sheet(rows: list[dict[str, Any]], columns: tuple[str, ...] | None = None, name: str = "sheet.csv") -> Table:
    """A table as the readers produce it: text, blank = null, rows numbered from 2."""
    cols = list(columns or dict.fromkeys(k for r in rows for k in r))
    data = {c: [(None if r.get(c) in (None, "") else str(r[c])) for r in rows] for c in cols}
    df = pl.DataFrame(data, schema={c: pl.String for c in cols}).with_columns(
        pl.Series(ROW, list(range(2, len(rows) + 2)), dtype=pl.Int64))
    return Table(df=df, headers=tuple(cols), source=name, format="csv", fingerprint="test")


def snapshot(departments: list[dict[str, Any]] = (), users: list[dict[str, Any]] = ()) -> Snapshot:
    """LMS state. Departments: id, code, name, parent (id). Users: id, login, email, …, department (id),
    status (default active), sup / cosup (ids), custom dict."""
    d = pl.DataFrame(
        {"id": [x["id"] for x in departments], "code": [x["code"] for x in departments],
         "name": [x.get("name", x["code"]) for x in departments],
         "parent_id": [x.get("parent") for x in departments]}, schema=DEPARTMENT_SCHEMA)
    custom = sorted({k for u in users for k in u.get("custom", {})})
    cols: dict[str, list] = {k: [] for k in USER_SCHEMA}
    for k in custom:
        cols[CUSTOM_PREFIX + k] = []
    for u in users:
        cols["id"].append(u["id"])
        cols["login"].append(u["login"])
        cols["email"].append(u.get("email", f"{u['login']}@example.com"))
        cols["firstName"].append(u.get("firstName", "First"))
        cols["lastName"].append(u.get("lastName", "Last"))
        cols["department_id"].append(u.get("department"))
        cols["status"].append(u.get("status", "active"))
        cols["subordination"].append(u.get("sup"))
        cols["coSubordination"].append(u.get("cosup"))
        cols["phone"].append(u.get("phone"))
        cols["jobTitle"].append(u.get("jobTitle"))
        for k in custom:
            cols[CUSTOM_PREFIX + k].append(u.get("custom", {}).get(k))
    schema = {**USER_SCHEMA, **{CUSTOM_PREFIX + k: pl.String for k in custom}}
    return Snapshot(root_id="0", departments=d, users=pl.DataFrame(cols, schema=schema),
                    custom_fields=tuple(custom))


def ledger(entries: dict[str, str | None] | list[str] = ()) -> pl.DataFrame:
    if not isinstance(entries, dict):
        entries = dict.fromkeys(entries)
    return pl.DataFrame({"lms_id": list(entries), "key": list(entries.values())},
                        schema={"lms_id": pl.String, "key": pl.String})


def user(login: str, dept: str = "HQ", **kw: Any) -> dict[str, Any]:
    """A users-sheet row with sensible defaults."""
    row = {"login": login, "email": f"{login}@example.com", "firstName": "First", "lastName": "Last",
           "departmentId": dept}
    row.update(kw)
    return row


def make_plan(
    dept_rows: list[dict[str, Any]],
    user_rows: list[dict[str, Any]],
    lms: Snapshot | None = None,
    *,
    ledger_departments: Any = (),
    ledger_users: Any = (),
    dept_mapping: dict[str, str] | None = None,
    user_mapping: dict[str, str] | None = None,
    resolutions: list[Resolution] | None = None,
    dept_columns: tuple[str, ...] | None = None,
    user_columns: tuple[str, ...] | None = None,
    **rules: Any,
) -> Plan:
    """`rules`: the C1–C3 inputs (department_scope, user_scope, protect, department_fields, user_fields)."""
    dt = sheet(dept_rows, dept_columns or tuple(dict.fromkeys((*DEPT_COLUMNS, *(k for r in dept_rows for k in r)))))
    ut = sheet(user_rows, user_columns or tuple(dict.fromkeys((*USER_COLUMNS, *(k for r in user_rows for k in r)))))
    dmap = dept_mapping or {c: c for c in dt.headers}
    umap = user_mapping or {c: c for c in ut.headers}
    inp = Inputs(dt, ut, dmap, umap, lms or snapshot(), ledger(ledger_departments), ledger(ledger_users), **rules)
    return build_plan(inp, resolutions)


def kinds(plan: Plan) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for c in plan.changes:
        out.setdefault(c.kind.value, []).append(c.key)
    return out


def codes(plan: Plan) -> dict[str, list[Any]]:
    """problem code -> rows (or keys, for problems without a row)"""
    out: dict[str, list[Any]] = {}
    for p in plan.problems:
        out.setdefault(p.code, []).append(p.row if p.row is not None else p.key)
    return out
