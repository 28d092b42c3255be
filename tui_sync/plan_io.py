"""The plan's JSON form (DESIGN §2 "Plan JSON"), read and written.

Beyond the documented keys a plan carries what apply needs and a person may
ignore: each change's `target` (the LMS id it acts on) and `identity` (what
that object was when planned, A4), `matched` (L1: the objects matched to rows,
recorded as managed by a completed apply), `vanished`, `sources` (what was
read, with fingerprints) and `created_at`; a plan written for applying also
carries `binding` and `digest` (A4, `plan_seal`).
"""
from __future__ import annotations

import codecs
import os
from functools import partial
import tempfile
from pathlib import Path
from typing import Any, BinaryIO, Callable

import orjson

from .errors import UsageError
from .files import private_dir
from .gcpause import gc_paused
from .model import Change, Decision, Kind, Plan, Problem, Resolution
from .plan_seal import PLAN_AFRESH, Digest, Seal, canonical, verify
from .plan_shape import plan_problem
from .safe_text import json_bytes

VERSION = 1
MAX_PLAN_BYTES = 1 << 30  # ~3M users' worth of changes; a larger file is not a plan tui-sync wrote


_CHUNK = 2048  # items per orjson call: large enough to be fast, small enough to stay in the CPU's cache


def _write_lines(out: BinaryIO, items: list[Any], first_key: bytes,
                 digest: Callable[[bytes], None] | None = None) -> None:
    """A JSON array with one item per line. orjson writes a chunk of items per call; a new line
    then goes where one object ends and the next begins (`},{"severity"` cannot occur inside a
    JSON string, whose quotes are escaped). `digest` gets each chunk as written, on one line."""
    if not items:
        out.write(b"[]")
        return
    between, one_per_line = b'},{"' + first_key, b'},\n  {"' + first_key
    out.write(b"[\n  ")
    for i in range(0, len(items), _CHUNK):
        if i:
            out.write(b",\n  ")
        chunk = canonical(items[i:i + _CHUNK])
        if digest is not None:
            digest(chunk)
        # (split and joined: twice as fast as `bytes.replace` with thousands of places to replace)
        out.write(one_per_line.join(chunk[1:-1].split(between)))
    out.write(b"\n]")


_ONE_PER_LINE = {"changes": b'id"', "problems": b'severity"'}  # the lists written an item per line, by first key


class _Printable:
    """Writes JSON fragments with C1 controls and bidi overrides as `\\u` escapes (F4): `cat plan.json`
    and `plan --json` on a terminal show them, never obey them. The values, and the digest, are
    the same."""

    def __init__(self, out: BinaryIO) -> None:
        self._out = out

    def write(self, data: bytes) -> None:
        # (what json_bytes escapes starts with one of these bytes in UTF-8: a fragment without any,
        # as most are, is written as it is, found at memory speed rather than by a regex)
        if any(lead in data for lead in RAW_LEADS):
            data = json_bytes(data)
        self._out.write(data)


RAW_LEADS = (b"\x7f", b"\xc2", b"\xe2")  # DEL; C1 controls (U+0080-009F); bidi overrides (U+202A-2069)


def write_json(plan: Plan, out: BinaryIO, seal: Seal | None = None) -> None:
    """The plan JSON (UTF-8) with each top-level key, change and problem on its own line:
    readable and diffable by a person. Changes and problems are dataclasses that orjson writes
    natively, their keys in the order of their fields (DESIGN §2's order). Written in pieces:
    a large plan's text is never held, or copied, whole. With a `seal`, the plan is bound to
    its configuration and LMS and carries its digest (A4), the last key."""
    parts = {
        "version": VERSION,
        "summary": plan.summary(),
        "changes": plan.changes,
        "problems": plan.problems,
        "resolutions": plan.resolutions,
        "matched": {"departments": plan.matched_departments, "users": plan.matched_users},
        "vanished": {"departments": plan.vanished_departments, "users": plan.vanished_users},
        "sources": plan.sources,
        "lms": {"users": plan.lms_users},
        "created_at": plan.created_at,
    }
    out = _Printable(out)
    digest = None
    if seal is not None:
        parts["binding"] = seal.binding()
        digest = Digest()
    out.write(b"{\n")
    for i, (key, value) in enumerate(parts.items()):
        out.write(b'%s"%s": ' % (b",\n" if i else b"", key.encode()))
        if key in _ONE_PER_LINE:
            _write_lines(out, value, _ONE_PER_LINE[key], None if digest is None else partial(digest.listed, key))
        else:
            text = orjson.dumps(value, option=orjson.OPT_NON_STR_KEYS)
            if digest is not None:
                digest.part(key, orjson.loads(text))
            out.write(text)
    if seal is not None and digest is not None:
        out.write(b',\n"digest": %s' % orjson.dumps(digest.mac(seal.key)))
    out.write(b"\n}\n")


# A plan holds up to millions of changes: their kinds and decisions are looked up by value (what
# `Kind(value)` and `Decision(value)` answer, at a fraction of the cost); anything else is asked of
# the enum, which refuses it with its own words.
_KINDS: dict[str, Kind] = {k.value: k for k in Kind}
_DECISIONS: dict[str, Decision] = {d.value: d for d in Decision}


def _kind(value: Any) -> Kind:
    return (_KINDS.get(value) if type(value) is str else None) or Kind(value)


def _decision(value: Any) -> Decision:
    found = _DECISIONS.get(value) if type(value) is str else None
    if found is not None:
        return found
    try:
        return Decision(value)
    except ValueError:
        raise ValueError(f"decision {value!r} is not one of {', '.join(d.value for d in Decision)}") from None


def _pairs(fields: dict[str, Any]) -> dict[str, tuple[Any, Any]]:
    out: dict[str, tuple[Any, Any]] = {}
    for name, value in fields.items():
        if not isinstance(value, list) or len(value) != 2:
            raise ValueError(f"a field's value must be [before, after], not {orjson.dumps(value).decode()[:80]}")
        out[name] = (value[0], value[1])
    return out


def _change(c: dict[str, Any], decision: Any) -> Change:
    fields = c.get("fields", {})
    if not isinstance(fields, dict):
        raise ValueError("fields must be an object")
    problems = c.get("problems", ())
    return Change(
        id=c["id"], kind=_kind(c["kind"]), key=c["key"],
        fields=_pairs(fields),
        row=c.get("row"), rule=c.get("rule"), target=c.get("target"),
        decision=_decision(decision), depends_on=list(c.get("depends_on", ())),
        problems=[Problem.from_json(p) for p in problems] if problems != [] else [],
        unique_key=c.get("unique_key"), identity=c.get("identity"),
    )


def plan_from_json(d: Any, where: str = "plan", seal: Seal | None = None, *, check: bool = True) -> Plan:
    """A plan from its parsed JSON. With a `seal`, a plan not bound to it, or edited anywhere but in
    its decisions, is refused (A4). `check`: every change must carry what its kind needs (a run's
    own copy, resumed, is read without: there a bad change fails alone)."""
    try:
        if not isinstance(d, dict) or d.get("version") != VERSION:
            raise ValueError(f"not a tui_sync plan of version {VERSION}")
        raw = d["changes"]
        if not isinstance(raw, list):
            raise ValueError("`changes` is not a list")
        for i, c in enumerate(raw):
            if not isinstance(c, dict):
                raise ValueError(f"change #{i + 1} is not an object")
        changes = []
        for i, c in enumerate(raw):
            try:
                changes.append(_change(c, c.get("decision", "pending")))
            except (KeyError, ValueError, TypeError, IndexError, AttributeError) as e:
                label = c.get("id", "?")
                raise ValueError(f"change #{i + 1} ({label}): {'missing ' if isinstance(e, KeyError) else ''}{e}") from e
        problems = [Problem.from_json(p) for p in d.get("problems", [])]
        if seal is not None:
            verify(d, {"changes": changes, "problems": problems}, seal, where, _CHUNK)
        why = plan_problem(changes) if check else None
        if why is not None:
            raise ValueError(why)
        matched, vanished = d.get("matched") or {}, d.get("vanished") or {}
        if not isinstance(matched, dict) or not isinstance(vanished, dict):
            raise ValueError("`matched` and `vanished` must be objects")
        return Plan(
            changes=changes,
            problems=problems,
            resolutions=[Resolution(r["move_users_of"], r["to"]) for r in d.get("resolutions", [])],
            matched_departments=_ids(matched.get("departments", {}), dict),
            matched_users=_ids(matched.get("users", {}), dict),
            vanished_departments=_ids(vanished.get("departments", []), list),
            vanished_users=_ids(vanished.get("users", []), list),
            sources=d.get("sources", {}), lms_users=_count((d.get("lms") or {}).get("users")),
            created_at=d.get("created_at"),
        )
    except (KeyError, ValueError, TypeError, AttributeError) as e:
        missing = "missing " if isinstance(e, KeyError) else ""
        raise UsageError(f"cannot read the plan: {missing}{e}", where=where, hint=PLAN_AFRESH) from None


def _count(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _ids(value: Any, kind: type) -> Any:
    if not isinstance(value, kind) or not all(isinstance(i, str) for i in value):
        raise ValueError("`matched` and `vanished` must list LMS ids")
    return kind(value)


def write_plan(plan: Plan, path: Path, seal: Seal | None = None) -> None:
    """Atomically: a half-written plan must never be applied. Sealed (A4) when it is for applying.
    For plans in the state folder (mode 0600 in a 0700 folder, O2); an output the operator names
    goes through `files.write_output`."""
    private_dir(path.parent)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=".plan-", suffix=".json")
    try:
        with os.fdopen(fd, "wb") as f:
            write_json(plan, f, seal)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def read_plan(path: Path, seal: Seal | None = None, *, check: bool = True) -> Plan:
    """A saved plan; with a `seal`, only one bound to it and edited at most in its decisions (A4)."""
    try:
        with open(path, "rb") as f:
            size = os.fstat(f.fileno()).st_size
            if size > MAX_PLAN_BYTES:
                raise UsageError(f"the file is {size / (1 << 30):.1f} GiB, larger than any plan tui-sync writes",
                                 where=str(path), hint=PLAN_AFRESH)
            raw = f.read(MAX_PLAN_BYTES + 1)
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):  # Notepad's "Unicode"
            raw = raw.decode("utf-16").encode("utf-8")
    except FileNotFoundError:
        raise UsageError("plan file not found", where=str(path)) from None
    except OSError as e:
        raise UsageError(f"cannot read the plan: {e.strerror or e}", where=str(path), hint=PLAN_AFRESH) from None
    except UnicodeError as e:
        raise UsageError(f"cannot read the plan: {e}", where=str(path), hint=PLAN_AFRESH) from None
    # One pause for the parse and the build, the parsed JSON dropped inside it: when the collector runs
    # again it finds only the plan, not a million dicts and lists that were garbage already.
    with gc_paused():
        try:
            data = orjson.loads(raw.removeprefix(codecs.BOM_UTF8))  # (an editor's BOM)
        except (orjson.JSONDecodeError, UnicodeError) as e:  # (invalid UTF-8 too)
            raise UsageError(f"cannot read the plan: {e}", where=str(path), hint=PLAN_AFRESH) from None
        del raw
        plan = plan_from_json(data, str(path), seal, check=check)
        del data
    return plan
