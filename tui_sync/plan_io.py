"""The plan's JSON form (DESIGN §2 "Plan JSON"), read and written.

Beyond the documented keys a plan carries what apply needs and a person may
ignore: each change's `target` (the LMS id it acts on), `matched` (L1: the
objects matched to rows, recorded as managed by a completed apply),
`sources` (what was read, with fingerprints) and `created_at`.
"""
from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .errors import UsageError
from .gcpause import gc_paused
from .model import Change, Decision, Kind, Plan, Problem, Resolution

VERSION = 1


def plan_to_json(plan: Plan) -> dict[str, Any]:
    return {
        "version": VERSION,
        "summary": plan.summary(),
        "changes": [
            {
                "id": c.id, "kind": c.kind.value, "key": c.key, "row": c.row, "rule": c.rule,
                "fields": c.fields,  # (before, after) tuples are JSON arrays
                "decision": c.decision.value, "depends_on": c.depends_on,
                "problems": [p.to_json() for p in c.problems] if c.problems else [], "target": c.target,
                **({"unique_key": c.unique_key} if c.unique_key is not None else {}),
            }
            for c in plan.changes
        ],
        "problems": [p.to_json() for p in plan.problems],
        "resolutions": [{"move_users_of": r.move_users_of, "to": r.to} for r in plan.resolutions],
        "matched": {"departments": plan.matched_departments, "users": plan.matched_users},
        "vanished": {"departments": plan.vanished_departments, "users": plan.vanished_users},
        "sources": plan.sources,
        "created_at": plan.created_at,
    }


def dumps(plan: Plan) -> str:
    """The plan JSON with one change or problem per line: readable and diffable by a
    person, and written by the C encoder (an `indent` would fall back to pure Python)."""
    with gc_paused():
        d = plan_to_json(plan)
    enc = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": ")).encode
    parts = []
    for k, v in d.items():
        if isinstance(v, list) and v:
            parts.append(f'"{k}": [\n  ' + ",\n  ".join(map(enc, v)) + "\n]")
        else:
            parts.append(f'"{k}": {enc(v)}')
    return "{\n" + ",\n".join(parts) + "\n}"


def plan_from_json(d: Any, where: str = "plan") -> Plan:
    try:
        if not isinstance(d, dict) or d.get("version") != VERSION:
            raise ValueError(f"not a tui_sync plan of version {VERSION}")
        changes = []
        for i, c in enumerate(d["changes"]):
            try:
                changes.append(Change(
                    id=c["id"], kind=Kind(c["kind"]), key=c["key"],
                    fields={k: (v[0], v[1]) for k, v in c.get("fields", {}).items()},
                    row=c.get("row"), rule=c.get("rule"), target=c.get("target"),
                    decision=Decision(c.get("decision", "pending")), depends_on=list(c.get("depends_on", [])),
                    problems=[Problem.from_json(p) for p in c.get("problems", [])],
                    unique_key=c.get("unique_key"),
                ))
            except (KeyError, ValueError, TypeError, IndexError) as e:
                raise ValueError(f"change #{i + 1} ({c.get('id', '?') if isinstance(c, dict) else c!r}): {e}") from e
        matched = d.get("matched") or {}
        return Plan(
            changes=changes,
            problems=[Problem.from_json(p) for p in d.get("problems", [])],
            resolutions=[Resolution(r["move_users_of"], r["to"]) for r in d.get("resolutions", [])],
            matched_departments=dict(matched.get("departments", {})),
            matched_users=dict(matched.get("users", {})),
            vanished_departments=list((d.get("vanished") or {}).get("departments", [])),
            vanished_users=list((d.get("vanished") or {}).get("users", [])),
            sources=d.get("sources", {}), created_at=d.get("created_at"),
        )
    except (KeyError, ValueError, TypeError) as e:
        raise UsageError(f"cannot read the plan: {e}", where=where,
                         hint="use a file written by `tui-sync plan --out` (decisions may be edited)") from e


def write_plan(plan: Plan, path: Path) -> None:
    """Atomically: a half-written plan must never be applied."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".json")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(dumps(plan))
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_plan(path: Path) -> Plan:
    try:
        with gc_paused():
            data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UsageError("plan file not found", where=str(path)) from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise UsageError(f"cannot read the plan: {e}", where=str(path)) from None
    with gc_paused():
        return plan_from_json(data, str(path))
