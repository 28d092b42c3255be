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


def _change_dict(c: Change) -> dict[str, Any]:
    """One change as DESIGN §2 shows it: the reference `_encode_change` writes faster."""
    return {
        "id": c.id, "kind": c.kind.value, "key": c.key, "row": c.row, "rule": c.rule,
        "fields": c.fields,  # (before, after) tuples are JSON arrays
        "decision": c.decision.value, "depends_on": c.depends_on,
        "problems": [p.to_json() for p in c.problems] if c.problems else [], "target": c.target,
        **({"unique_key": c.unique_key} if c.unique_key is not None else {}),
    }


def _plan_dict(plan: Plan, changes: list[Any]) -> dict[str, Any]:
    return {
        "version": VERSION,
        "summary": plan.summary(),
        "changes": changes,
        "problems": [p.to_json() for p in plan.problems],
        "resolutions": [{"move_users_of": r.move_users_of, "to": r.to} for r in plan.resolutions],
        "matched": {"departments": plan.matched_departments, "users": plan.matched_users},
        "vanished": {"departments": plan.vanished_departments, "users": plan.vanished_users},
        "sources": plan.sources,
        "created_at": plan.created_at,
    }


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(", ", ": "))
_encode = _ENCODER.encode
_string = json.encoder.encode_basestring  # what _ENCODER writes for a str (ensure_ascii=False)


def _value(v: Any) -> str:
    if v is None:
        return "null"
    if type(v) is str:
        return _string(v)
    return _encode(v)


_NAMES: dict[str, str] = {}  # field name -> its JSON text, for the few names that recur


def _fields_text(fields: Any) -> str:
    if type(fields) is not dict:
        return _encode(fields)
    out = []
    for k, v in fields.items():
        if type(k) is not str or type(v) is not tuple or len(v) != 2:
            return _encode(fields)
        name = _NAMES.get(k)
        if name is None:
            name = _NAMES[k] = _string(k) + ": ["
        b, a = v
        out.append(f'{name}{"null" if b is None else _string(b) if type(b) is str else _encode(b)}, '
                   f'{"null" if a is None else _string(a) if type(a) is str else _encode(a)}]')
    return "{" + ", ".join(out) + "}"


def _encode_change(c: Change) -> str:
    """`_encode(_change_dict(c))`, character for character, in a fraction of the time: the usual
    values (text, None, whole numbers, (before, after) pairs) are written here, anything else by
    the encoder itself."""
    deps = c.depends_on
    if not deps:
        deps_text = "[]" if type(deps) is list else _encode(deps)
    elif type(deps) is list and all(type(d) is str for d in deps):
        deps_text = "[" + ", ".join(map(_string, deps)) + "]"
    else:
        deps_text = _encode(deps)
    row = c.row
    kind, decision = c.kind, c.decision  # StrEnum members: the encoder writes them as their value
    return "".join((
        '{"id": ', _value(c.id), ', "kind": ', _string(kind) if isinstance(kind, str) else _value(kind.value),
        ', "key": ', _value(c.key),
        ', "row": ', "null" if row is None else str(row) if type(row) is int else _encode(row),
        ', "rule": ', _value(c.rule), ', "fields": ', _fields_text(c.fields),
        ', "decision": ', _string(decision) if isinstance(decision, str) else _value(decision.value),
        ', "depends_on": ', deps_text,
        ', "problems": ', _encode([p.to_json() for p in c.problems]) if c.problems else "[]",
        ', "target": ', _value(c.target),
        ', "unique_key": ' + _value(c.unique_key) + "}" if c.unique_key is not None else "}",
    ))


def dumps(plan: Plan) -> str:
    """The plan JSON with one change or problem per line: readable and diffable by a
    person, and written by the C encoder (an `indent` would fall back to pure Python)."""
    with gc_paused():
        d = _plan_dict(plan, [])
        changes = [_encode_change(c) for c in plan.changes]
    enc = _encode
    pieces = ["{\n"]
    for i, (k, v) in enumerate(d.items()):
        if i:
            pieces.append(",\n")
        if k == "changes":
            v = changes
        if isinstance(v, list) and v:
            pieces.append(f'"{k}": [\n  ')
            for j, x in enumerate(v if k == "changes" else map(enc, v)):
                if j:
                    pieces.append(",\n  ")
                pieces.append(x)
            pieces.append("\n]")
        else:
            pieces.append(f'"{k}": {enc(v)}')
    pieces.append("\n}")
    return "".join(pieces)  # one copy of a text that may be large


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
