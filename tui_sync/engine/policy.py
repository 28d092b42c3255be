"""C3 field policy: when a sheet value is written to an existing LMS object.

`update`: "always" (the default), "on_create" (never written to an existing object,
whether matched for the first time or not) or "if_empty" (written only while the
LMS value is empty; it never clears). `blank`: "clear" (the default: a blank cell
clears the LMS value) or "keep". Creates are never affected. Each field is decided
on its own, per change: an update whose every field is held back is no change.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import polars as pl

UPDATES: dict[str, str] = {
    "always": "the sheet's value is always written (the default)",
    "on_create": "set when the object is created, never changed later",
    "if_empty": "changed only while the LMS value is empty; it never clears",
}
BLANKS: dict[str, str] = {
    "clear": "a blank cell clears the LMS value (the default)",
    "keep": "a blank cell keeps the LMS value",
}
# Fields that take no `blank` (C3): identities, and supervisors (blank = inherited, U7)
NO_BLANK: dict[str, str] = {
    "login": "an identity field", "email": "an identity field", "code": "an identity field",
    "userUniqueKey": "an identity field", "departmentUniqueKey": "an identity field",
    "subordination": "a supervisor column (a blank cell means inherited, U7)",
    "coSubordination": "a supervisor column (a blank cell means inherited, U7)",
}
# Fields that are no LMS field at all: the ledger remembers them (L1); no policy applies
NOT_WRITTEN = ("userUniqueKey", "departmentUniqueKey")


@dataclass(frozen=True)
class FieldPolicy:
    update: str = "always"
    blank: str = "clear"

    @property
    def default(self) -> bool:
        return self.update == "always" and self.blank == "clear"

    def to_toml(self) -> dict[str, str]:
        out = {}
        if self.update != "always":
            out["update"] = self.update
        if self.blank != "clear":
            out["blank"] = self.blank
        return out

    def describe(self) -> str:
        parts = [] if self.update == "always" else [f"update {self.update.replace('_', ' ')}"]
        if self.blank == "keep":
            parts.append("blank keeps")
        return ", ".join(parts) or "always"


def gate(policy: FieldPolicy | None, changed: pl.Expr, before: pl.Expr, sheet: pl.Expr) -> pl.Expr | None:
    """Where an existing object's field is written: `changed` held back by the policy. `before` is
    the LMS value now, `sheet` the row's cell (null = blank). None: the field is never written."""
    if policy is None or policy.default:
        return changed
    if policy.update == "on_create":
        return None
    if policy.update == "if_empty":
        changed = changed & before.is_null() & sheet.is_not_null()
    if policy.blank == "keep":
        changed = changed & sheet.is_not_null()
    return changed


def allows(policy: FieldPolicy | None, before: Any, sheet: Any) -> bool:
    """`gate` for one value (a field that differs), for the department steps that walk departments."""
    if policy is None or policy.default:
        return True
    if policy.update == "on_create":
        return False
    if policy.update == "if_empty" and (before is not None or sheet is None):
        return False
    return not (policy.blank == "keep" and sheet is None)
