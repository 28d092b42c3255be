"""C1 scope: which sheet rows count. A row out of scope is as if absent from its sheet.

Rules test any column of the sheet, mapped or not; they run as one polars
expression per rule over the whole sheet, before the mapping.
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import polars as pl

from ..errors import ConfigError
from ..rule_settings import (  # noqa: F401  (C1 values and the shared wildcards, here as before)
    EXCLUDE, INCLUDE, Scope, ScopeRule, matches_any, wildcard_regex,
)
from ..sources.table import ROW, Table

RULE = "__scope_rule"  # on out-of-scope rows: the index (in `Scope.rules`) of the rule that left them out


@dataclass(frozen=True)
class RuleCount:
    """What one rule does to a sheet on its own: rows it keeps and rows it drops."""

    side: str
    rule: ScopeRule
    keeps: int
    drops: int


@dataclass(frozen=True)
class Scoped:
    """A sheet after its scope: the rows in scope, and what was left out by which rule."""

    table: Table  # the rows in scope (the same table when there is no scope)
    out_of_scope: int
    counts: tuple[RuleCount, ...] = ()


def _column(table: Table, rule: ScopeRule, entity: str, label: str) -> str:
    """The sheet column a rule names: the same name, or one differing only in case."""
    if rule.column in table.headers:
        return rule.column
    folded = [h for h in table.headers if h.casefold() == rule.column.casefold()]
    if len(folded) == 1:
        return folded[0]
    headers = ", ".join(f'"{h}"' for h in table.headers) or "(none)"
    raise ConfigError(
        f'found column = "{rule.column}", expected a column of the {entity}s sheet',
        where=f"[{entity}s.scope] {label}.column",
        hint=f"the sheet ({table.source}) has: {headers}. Fix the rule's column in [{entity}s.scope].")


def _hit(table: Table, rule: ScopeRule, entity: str, label: str) -> pl.Expr:
    cell = pl.col(_column(table, rule, entity, label)).fill_null("")
    if rule.pattern is not None:
        return matches_any(cell, [rule.pattern])
    return cell.str.strip_chars().str.to_lowercase().is_in([v.strip().lower() for v in rule.values or ()])


def check_columns(table: Table, scope: Scope, entity: str) -> None:
    """A scope column missing from its sheet is a configuration error (C1), as for a mapped column."""
    for i, (_, rule) in enumerate(scope.rules):
        _column(table, rule, entity, scope.label(i))


def apply_scope(table: Table, scope: Scope, entity: str, *, with_rows: bool = False) -> tuple[Scoped, pl.DataFrame | None]:
    """The sheet's rows in scope, and how many each rule keeps and drops. With `with_rows`, also
    the out-of-scope rows (the sheet's columns, ROW, and RULE: the first rule that left the row out)."""
    if not scope:
        return Scoped(table, 0), (table.df.clear().with_columns(pl.lit(None, pl.Int32).alias(RULE))
                                  if with_rows else None)
    # one pass over the sheet's text: a boolean column per rule; the rest is boolean arithmetic
    names = [f"__hit{i}" for i in range(len(scope.rules))]
    hits = table.df.select(_hit(table, rule, entity, scope.label(i)).alias(names[i])
                           for i, (_, rule) in enumerate(scope.rules))
    left_out = [~pl.col(n) if side == INCLUDE else pl.col(n) for n, (side, _) in zip(names, scope.rules)]
    sums = hits.select(*(pl.col(n).sum() for n in names), pl.any_horizontal(left_out).sum().alias("__out")).row(0)
    counts = tuple(
        RuleCount(side, rule, keeps=(hit if side == INCLUDE else table.rows - hit),
                  drops=(table.rows - hit if side == INCLUDE else hit))
        for (side, rule), hit in zip(scope.rules, sums[:-1]))
    out = sums[-1]
    kept = table if not out else dataclasses.replace(  # (no copy when the scope leaves nothing out)
        table, df=table.df.filter(~hits.select(pl.any_horizontal(left_out)).to_series()))
    dropped = None
    if with_rows:
        first = pl.when(pl.lit(False)).then(pl.lit(None, pl.Int32))
        for i, expr in enumerate(left_out):
            first = first.when(expr).then(pl.lit(i, pl.Int32))
        rule = hits.select(first.otherwise(None).alias(RULE)).to_series()
        dropped = table.df.with_columns(rule).filter(pl.col(RULE).is_not_null())
    return Scoped(kept, out, counts), dropped


__all__ = ["Scope", "ScopeRule", "Scoped", "RuleCount", "apply_scope", "check_columns", "matches_any",
           "wildcard_regex", "INCLUDE", "EXCLUDE", "RULE", "ROW"]
