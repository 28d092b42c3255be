"""C2 protected objects: LMS users and departments that no sync changes, inactivates,
reactivates or deletes (`[protect] users`, `[protect] departments`)."""
from __future__ import annotations

from dataclasses import dataclass

import polars as pl

from .scope import matches_any

PROTECTED = "protected"  # the problem code


@dataclass(frozen=True)
class Protect:
    """Logins and department codes, with `*` / `?` wildcards, case-insensitive.
    A protected department's sub-departments are protected too."""

    users: tuple[str, ...] = ()
    departments: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.users or self.departments)

    def user_mask(self, logins: pl.Expr) -> pl.Expr:
        return matches_any(logins, self.users)

    def department_mask(self, codes: pl.Expr) -> pl.Expr:
        return matches_any(codes, self.departments)
