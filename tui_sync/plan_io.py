"""The plan's JSON form (DESIGN §2 "Plan JSON"), read and written.

Beyond the documented keys a plan carries what apply needs and a person may
ignore: each change's `target` (the LMS id it acts on), `matched` (L1: the
objects matched to rows, recorded as managed by a completed apply),
`sources` (what was read, with fingerprints) and `created_at`.
"""
from __future__ import annotations

import codecs
import os
import tempfile
from pathlib import Path
from typing import Any, BinaryIO

import orjson

from .errors import UsageError
from .files import private_dir
from .gcpause import gc_paused
from .model import Change, Decision, Kind, Plan, Problem, Resolution

VERSION = 1


_CHUNK = 2048  # items per orjson call: large enough to be fast, small enough to stay in the CPU's cache


def _write_lines(out: BinaryIO, items: list[Any], first_key: bytes) -> None:
    """A JSON array with one item per line. orjson writes a chunk of items per call; a new line
    then goes where one object ends and the next begins (`},{"severity"` cannot occur inside a
    JSON string, whose quotes are escaped)."""
    if not items:
        out.write(b"[]")
        return
    between, one_per_line = b'},{"' + first_key, b'},\n  {"' + first_key
    out.write(b"[\n  ")
    for i in range(0, len(items), _CHUNK):
        if i:
            out.write(b",\n  ")
        out.write(orjson.dumps(items[i:i + _CHUNK])[1:-1].replace(between, one_per_line))
    out.write(b"\n]")


_ONE_PER_LINE = {"changes": b'id"', "problems": b'severity"'}  # the lists written an item per line, by first key


def write_json(plan: Plan, out: BinaryIO) -> None:
    """The plan JSON (UTF-8) with each top-level key, change and problem on its own line:
    readable and diffable by a person. Changes and problems are dataclasses that orjson writes
    natively, their keys in the order of their fields (DESIGN §2's order). Written in pieces:
    a large plan's text is never held, or copied, whole."""
    parts = {
        "version": VERSION,
        "summary": plan.summary(),
        "changes": plan.changes,
        "problems": plan.problems,
        "resolutions": plan.resolutions,
        "matched": {"departments": plan.matched_departments, "users": plan.matched_users},
        "vanished": {"departments": plan.vanished_departments, "users": plan.vanished_users},
        "sources": plan.sources,
        "created_at": plan.created_at,
    }
    out.write(b"{\n")
    for i, (key, value) in enumerate(parts.items()):
        out.write(b'%s"%s": ' % (b",\n" if i else b"", key.encode()))
        if key in _ONE_PER_LINE:
            _write_lines(out, value, _ONE_PER_LINE[key])
        else:
            out.write(orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS))
    out.write(b"\n}\n")


def _decision(value: Any) -> Decision:
    try:
        return Decision(value)
    except ValueError:
        raise ValueError(f"decision {value!r} is not one of {', '.join(d.value for d in Decision)}") from None


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
                    decision=_decision(c.get("decision", "pending")), depends_on=list(c.get("depends_on", [])),
                    problems=[Problem.from_json(p) for p in c.get("problems", [])],
                    unique_key=c.get("unique_key"),
                ))
            except (KeyError, ValueError, TypeError, IndexError) as e:
                label = c.get("id", "?") if isinstance(c, dict) else repr(c)
                raise ValueError(f"change #{i + 1} ({label}): {e}") from e
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
    """Atomically: a half-written plan must never be applied. For plans in the state folder
    (mode 0600 in a 0700 folder, O2); an output the operator names goes through `files.write_output`."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as f:
            write_json(plan, f)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_plan(path: Path) -> Plan:
    try:
        with gc_paused():
            data = orjson.loads(path.read_bytes().removeprefix(codecs.BOM_UTF8))  # (an editor's BOM)
    except FileNotFoundError:
        raise UsageError("plan file not found", where=str(path)) from None
    except (OSError, orjson.JSONDecodeError) as e:  # (invalid UTF-8 too)
        raise UsageError(f"cannot read the plan: {e}", where=str(path)) from None
    with gc_paused():
        return plan_from_json(data, str(path))
