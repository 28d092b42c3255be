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
_IDENTITY = {"user": frozenset(("login", "email", "key")), "department": frozenset(("code", "key"))}
_DEPARTMENT_KINDS = frozenset(k for k in Kind if k.entity == "department")
_CREATES = frozenset((Kind.CREATE_USER, Kind.CREATE_DEPARTMENT))


def change_problem(c: Change) -> str | None:
    """Why `c` cannot be applied as it is, or None. (Asked of every change of a large plan: the
    common case takes few steps.)"""
    kind = c.kind
    entity = "department" if kind in _DEPARTMENT_KINDS else "user"
    if type(c.id) is not str or not c.id:
        return "it has no id"
    if type(c.key) is not str:
        return "its key is not text"
    if kind in _CREATES:
        if c.target is not None:
            return f"a {kind.value} cannot have a target"
    elif type(c.target) is not str or not c.target:
        return f"a {kind.value} needs the target it acts on"
    fields = c.fields
    if type(fields) is not dict:
        return "its fields are not an object"
    for name, pair in fields.items():
        if type(pair) is not tuple or len(pair) != 2 or not (pair[0] is None or type(pair[0]) is str) \
                or not (pair[1] is None or type(pair[1]) is str):
            return f"field {name!r} is not a pair [before, after] of text or null"
    if entity == "department" and not fields.keys() <= _DEPARTMENT_WRITABLE:
        return f"a {kind.value} cannot change {', '.join(sorted(fields.keys() - _DEPARTMENT_WRITABLE))}"
    for name in _REQUIRED.get(kind, ()):
        if name not in fields:
            return f"a {kind.value} needs the field {name}"
    if kind is not Kind.DELETE_DEPARTMENT:
        for name in _NEVER_BLANK[entity]:
            if name in fields and not (fields[name][1] or "").strip():
                return f"its {name} after the change is blank"
    if not fields and kind in (Kind.UPDATE_USER, Kind.UPDATE_DEPARTMENT):
        return f"a {kind.value} changes no field"
    if entity == "user" and "status" in fields:
        after = fields["status"][1]
        if after not in _STATUSES:
            return f"status {after!r} is not one of {', '.join(s.value for s in Status)}"
        if kind is Kind.INACTIVATE_USER and after == Status.ACTIVE.value:
            return "an inactivate_user must set an inactive or terminated status"
        if kind is Kind.REACTIVATE_USER and after != Status.ACTIVE.value:
            return "a reactivate_user must set the active status"
    identity = c.identity
    if identity is not None and (type(identity) is not dict or identity.keys() != _IDENTITY[entity]
                                 or any(v is not None and type(v) is not str for v in identity.values())):
        return f"its identity must name {', '.join(sorted(_IDENTITY[entity]))} (text or null)"
    depends = c.depends_on
    if depends:
        if type(depends) is not list or any(type(d) is not str for d in depends):
            return "depends_on is not a list of change ids"
        if c.id in depends:
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
        if why is None and c.depends_on:
            unknown = [d for d in c.depends_on if d not in seen]
            if unknown:
                why = f"it depends on {', '.join(unknown)}, which is not a change of this plan"
        if why is not None:
            return f"change #{i} ({c.id}, {c.kind.value} {c.key}): {why}"
    return None
