"""C3 field policy: when a sheet value is written to an existing LMS object.

`update`: "always" (the default), "on_create" (never written to an existing object,
whether matched for the first time or not) or "if_empty" (written only while the
LMS value is empty; it never clears). `blank`: "clear" (the default: a blank cell
clears the LMS value) or "keep". Creates are never affected. Each field is decided
on its own, per change: an update whose every field is held back is no change.
"""
from __future__ import annotations

from typing import Any

import polars as pl

from ..rule_settings import BLANKS, NO_BLANK, NOT_WRITTEN, UPDATES, FieldPolicy  # noqa: F401  (the C3 values)

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
