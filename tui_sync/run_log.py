"""What a run changed, in the detail a ticket needs (A3): each change's fields before → after,
the sheet rows' problems, and the D5 resolution a change came from.

Read from the plan a run applied (kept with the run in the state folder). Values are sheet and
LMS data: control characters are shown escaped (F4).
"""
from __future__ import annotations

import json
from typing import Any

from .model import Change, Kind, Plan, Resolution
from .safe_text import escape_controls, json_text


def printable(value: Any) -> str:
    """A value for a log line: None as —, control characters escaped (\\x1b, \\n)."""
    if value is None or value == "":
        return "—"
    return escape_controls(value)


def resolution_of(change: Change, plan: Plan) -> Resolution | None:
    """The D5 resolution that made `change` (a user moved out of a department to be deleted), or None."""
    if change.kind is not Kind.UPDATE_USER or change.row or "departmentId" not in change.fields:
        return None
    was = str(change.fields["departmentId"][0] or "").casefold()
    return next((r for r in plan.resolutions if r.move_users_of.casefold() == was), None)


def note(change: Change, plan: Plan) -> str:
    """Why a change is in the plan when no sheet row explains it, or ""."""
    r = resolution_of(change, plan)
    if r is not None:
        return f"moved by a resolution: the users of {printable(r.move_users_of)} move to {printable(r.to)} (their department is deleted)"
    if not change.row and change.kind in (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT):
        return "no longer in the sheet"
    return ""


def field_changes(change: Change) -> list[str]:
    """`field: before → after`, one per changed field."""
    return [f"{printable(name)}: {printable(before)} → {printable(after)}"
            for name, (before, after) in change.fields.items()]


def where(p) -> str:
    """Where a problem is, as a spreadsheet user finds it: `users row 34, column "E-mail", stefanie.ott`."""
    bits = []
    if p.row is not None:
        bits.append(f"{p.entity}s row {p.row}")
    if p.column:
        bits.append(f'column "{printable(p.column)}"')
    if p.key:
        bits.append(printable(p.key))
    return ", ".join(bits) or p.entity


def problem_line(p) -> str:
    mark = "error" if p.is_error else "warning"
    return f"{mark} {p.code} — {where(p)}: {printable(p.message)}"


def details(plan: Plan | None) -> dict[str, dict[str, Any]]:
    """change id -> {"fields": [...], "problems": [...], "note": str} for every change of `plan`."""
    if plan is None:
        return {}
    return {c.id: {"fields": field_changes(c), "problems": [problem_line(p) for p in c.problems],
                   "note": note(c, plan)} for c in plan.changes}


def row_problems(plan: Plan | None) -> list[str]:
    """The problems of sheet rows that yielded no change (P1), as log lines."""
    if plan is None:
        return []
    attached = {p for c in plan.changes for p in c.problems}
    return [problem_line(p) for p in plan.problems if p not in attached]


def resolutions(plan: Plan | None) -> list[str]:
    return [f"users of {printable(r.move_users_of)} move to {printable(r.to)}" for r in (plan.resolutions if plan else [])]


def run_json(run, plan: Plan | None) -> dict[str, Any]:
    """A run as JSON (`runs show --format json`, the Runs pane's export), with each change's details."""
    out = run.to_json()
    info = details(plan)
    for c in out["changes"]:
        c.update(info.get(c["change_id"], {}))
    out["row_problems"] = row_problems(plan)
    out["resolutions"] = resolutions(plan)
    return out


def run_json_text(run, plan: Plan | None) -> str:
    """`run_json` as printable JSON text (F4: C1 controls and bidi overrides as `\\u` escapes)."""
    return json_text(json.dumps(run_json(run, plan), ensure_ascii=False, indent=2)) + "\n"
