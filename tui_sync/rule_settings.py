"""The settings the rules take, as plain values: C3 field policies (`[<entity>.fields]`), C1 scope
rules (`[<entity>.scope]`) and C2 protection (`[protect]`), with the wildcard matching they share.

`config.py` reads them from the configuration and the engine applies them; they sit below both,
so that reading the configuration never reaches the engine.
"""
from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # (types only: reading the configuration does not load polars)
    import polars as pl

# --- C3 field policies ---

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


# --- C1 scope ---

INCLUDE, EXCLUDE = "include", "exclude"


@dataclass(frozen=True)
class ScopeRule:
    """`{ column = "Employment type", values = ["Contractor"] }` (trimmed, case-insensitive
    equality; "" matches a blank cell) or `{ column = "Login", pattern = "test-*" }`
    (`*` and `?` wildcards, case-insensitive). Exactly one of `values` and `pattern`."""

    column: str
    values: tuple[str, ...] | None = None
    pattern: str | None = None

    def describe(self) -> str:
        if self.pattern is not None:
            return f'{self.column} matches "{self.pattern}"'
        shown = " or ".join(f'"{v}"' for v in self.values or ())
        return f"{self.column} is {shown}"

    def to_toml(self) -> dict[str, object]:
        if self.pattern is not None:
            return {"column": self.column, "pattern": self.pattern}
        return {"column": self.column, "values": list(self.values or ())}


@dataclass(frozen=True)
class Scope:
    """`[users.scope]` / `[departments.scope]`: a row is in scope when it meets every
    `include` rule (none: every row) and no `exclude` rule."""

    include: tuple[ScopeRule, ...] = ()
    exclude: tuple[ScopeRule, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.include or self.exclude)

    @property
    def rules(self) -> tuple[tuple[str, ScopeRule], ...]:
        """Every rule with its side, in the order a row is tested: includes, then excludes."""
        return (*((INCLUDE, r) for r in self.include), *((EXCLUDE, r) for r in self.exclude))

    def label(self, index: int) -> str:
        """Where rule `index` sits in the config: "exclude[1]" (counted from 1, as a person counts)."""
        side, _ = self.rules[index]
        return f"{side}[{index + 1 if side == INCLUDE else index + 1 - len(self.include)}]"

    def describe(self, index: int) -> str:
        return f"{self.label(index)}: {self.rules[index][1].describe()}"


# --- C2 protection, and the wildcards C1 and C2 share ---

def wildcard_regex(patterns: list[str] | tuple[str, ...]) -> str:
    """One anchored, case-insensitive regex for `*` / `?` wildcards (no other character is special)."""
    parts = [re.escape(p.strip()).replace(r"\*", ".*").replace(r"\?", ".") for p in patterns]
    return "(?is)^(?:" + "|".join(parts) + ")$"


def matches_any(expr: pl.Expr, patterns: list[str] | tuple[str, ...]) -> pl.Expr:
    """True where the text, trimmed as every value is compared (C1, C2), matches one of the wildcard
    patterns (null: False)."""
    import polars as pl  # (loaded with the rules that use it: see the imports)

    if not patterns:
        return pl.lit(False)
    return expr.str.strip_chars().str.contains(wildcard_regex(patterns)).fill_null(False)


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
