"""What each change must carry to be applied (A4: a change that cannot be applied fails alone).

`change_problem` is asked when a plan is loaded (a bad change refuses the whole file, naming
the change) and again right before a change is applied (where it fails that change alone).
"""
from __future__ import annotations

from .model import DEPARTMENT_FIELDS, Change, Kind, Status

_DEPARTMENT_WRITABLE = frozenset(f for f in DEPARTMENT_FIELDS if f != "departmentUniqueKey")
_STATUSES = frozenset(s.value for s in Status)
# per kind: fields whose value after the change must be given (non-blank text)
_REQUIRED: dict[Kind, tuple[str, ...]] = {
    Kind.CREATE_DEPARTMENT: ("code", "name"),
    Kind.CREATE_USER: ("login", "email"),
    Kind.INACTIVATE_USER: ("status",),
    Kind.REACTIVATE_USER: ("status",),
}
_NEVER_BLANK = {"department": ("code", "name"), "user": ("login", "email", "status")}
_IDENTITY = {"user": ("login", "email", "key"), "department": ("code", "key")}


def change_problem(c: Change) -> str | None:
    """Why `c` cannot be applied as it is, or None."""
    if not isinstance(c.id, str) or not c.id:
        return "it has no id"
    if not isinstance(c.key, str):
        return "its key is not text"
    creates = c.kind in (Kind.CREATE_USER, Kind.CREATE_DEPARTMENT)
    if creates and c.target is not None:
        return f"a {c.kind.value} cannot have a target"
    if not creates and (not isinstance(c.target, str) or not c.target):
        return f"a {c.kind.value} needs the target it acts on"
    if not isinstance(c.fields, dict):
        return "its fields are not an object"
    for name, pair in c.fields.items():
        if not isinstance(pair, tuple) or len(pair) != 2 or not all(v is None or isinstance(v, str) for v in pair):
            return f"field {name!r} is not a pair [before, after] of text or null"
    if c.entity == "department":
        unknown = sorted(set(c.fields) - _DEPARTMENT_WRITABLE)
        if unknown:
            return f"a {c.kind.value} cannot change {', '.join(unknown)}"
    for name in _REQUIRED.get(c.kind, ()):
        if name not in c.fields:
            return f"a {c.kind.value} needs the field {name}"
    for name in _NEVER_BLANK[c.entity] if c.kind is not Kind.DELETE_DEPARTMENT else ():
        if name in c.fields and not (c.fields[name][1] or "").strip():
            return f"its {name} after the change is blank"
    if c.kind in (Kind.UPDATE_USER, Kind.UPDATE_DEPARTMENT) and not c.fields:
        return f"a {c.kind.value} changes no field"
    if "status" in c.fields and c.entity == "user":
        after = c.fields["status"][1]
        if after not in _STATUSES:
            return f"status {after!r} is not one of {', '.join(s.value for s in Status)}"
        if c.kind is Kind.INACTIVATE_USER and after == Status.ACTIVE.value:
            return "an inactivate_user must set an inactive or terminated status"
        if c.kind is Kind.REACTIVATE_USER and after != Status.ACTIVE.value:
            return "a reactivate_user must set the active status"
    if c.identity is not None:
        if not isinstance(c.identity, dict) or set(c.identity) != set(_IDENTITY[c.entity]) \
                or not all(v is None or isinstance(v, str) for v in c.identity.values()):
            return f"its identity must name {', '.join(_IDENTITY[c.entity])} (text or null)"
    if not isinstance(c.depends_on, list) or not all(isinstance(d, str) for d in c.depends_on):
        return "depends_on is not a list of change ids"
    if c.id in c.depends_on:
        return "it depends on itself"
    return None


def plan_problem(changes: list[Change]) -> str | None:
    """The first reason a list of changes cannot be applied, naming the change, or None."""
    seen: dict[str, int] = {}
    for i, c in enumerate(changes, 1):
        if c.id in seen:
            return f"change #{i} ({c.id}): the id {c.id!r} is also change #{seen[c.id]}'s; each change needs its own"
        seen[c.id] = i
    for i, c in enumerate(changes, 1):
        why = change_problem(c)
        if why is None:
            unknown = [d for d in c.depends_on if d not in seen]
            if unknown:
                why = f"it depends on {', '.join(unknown)}, which is not a change of this plan"
        if why is not None:
            return f"change #{i} ({c.id}, {c.kind.value} {c.key}): {why}"
    return None
