"""The review table's data: one-line texts, filters, counts and decisions over a plan.

Pure Python (no Textual) so it can be measured and tested on its own. Rows are
indexes into `plan.changes`; texts are built only for rows that are drawn (and,
for free-text search, once, on first use), so a plan of 100,000 changes opens at once.
"""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace
from typing import Any, Iterable

import polars as pl

from ..model import A1_PHASE, KIND_ORDER, Change, Decision, Kind, Plan
from ..report import GLYPH
from ..sources.table import ROW

KIND_LABEL: dict[Kind, str] = {
    Kind.CREATE_DEPARTMENT: "create dept",
    Kind.UPDATE_DEPARTMENT: "update dept",
    Kind.DELETE_DEPARTMENT: "delete dept",
    Kind.CREATE_USER: "create user",
    Kind.UPDATE_USER: "update user",
    Kind.INACTIVATE_USER: "inactivate",
    Kind.REACTIVATE_USER: "reactivate",
}
# the CSS class suffix that colours a kind
KIND_TONE: dict[Kind, str] = {
    Kind.CREATE_DEPARTMENT: "create", Kind.CREATE_USER: "create",
    Kind.UPDATE_DEPARTMENT: "update", Kind.UPDATE_USER: "update",
    Kind.INACTIVATE_USER: "inactivate", Kind.REACTIVATE_USER: "reactivate",
    Kind.DELETE_DEPARTMENT: "delete",
}
# Rich colours for text panels (ANSI names: right in 16-colour terminals too)
TONE_STYLE: dict[str, str] = {
    "create": "green", "update": "yellow", "inactivate": "magenta", "reactivate": "cyan", "delete": "red",
    "error": "red", "warning": "yellow", "approved": "green", "rejected": "red",
}
ANY_PROBLEM = "(any problem)"
BLOCKED = "(blocked: errors)"


def show(value: Any) -> str:
    """A field value as the operator reads it."""
    if value is None or value == "":
        return "—"
    return str(value)


def summary(c: Change) -> str:
    """What the change does, in one line."""
    f = c.fields
    after = {k: a for k, (_, a) in f.items()}
    if c.kind is Kind.CREATE_USER:
        name = " ".join(str(after[k]) for k in ("firstName", "lastName") if after.get(k))
        bits = [name or c.key, f"<{after['email']}>" if after.get("email") else "",
                f"in {after['departmentId']}" if after.get("departmentId") else ""]
        status = after.get("status")
        if status and status != "active":
            bits.append(f"({status})")
        return " ".join(b for b in bits if b)
    if c.kind is Kind.CREATE_DEPARTMENT:
        parent = after.get("parentCode")
        return f"{after.get('name') or c.key}" + (f", under {parent}" if parent else ", top level")
    if c.kind is Kind.DELETE_DEPARTMENT:
        return "no longer in the sheet: delete"
    if c.kind in (Kind.INACTIVATE_USER, Kind.REACTIVATE_USER):
        before, now = f.get("status", (None, None))
        why = "" if c.row else " (no longer in the sheet)"
        return f"status {show(before)} → {show(now)}{why}"
    return "; ".join(f"{k}: {show(b)} → {show(a)}" for k, (b, a) in f.items())


def problem_text(c: Change) -> str:
    if not c.problems:
        return ""
    first = c.problems[0]
    mark = "✖" if first.is_error else "⚠"
    more = f" +{len(c.problems) - 1}" if len(c.problems) > 1 else ""
    return f"{mark} {first.code}{more}"


@dataclass(frozen=True)
class Filter:
    kind: Kind | None = None
    decision: Decision | None = None
    problem: str | None = None  # a problem code, ANY_PROBLEM or BLOCKED
    text: str = ""
    held: frozenset[str] | None = None  # the changes unattended runs hold for review (P3)

    @property
    def active(self) -> bool:
        return bool(self.kind or self.decision or self.problem or self.text or self.held is not None)

    def short(self) -> str:
        """The active filters, or "" when there are none."""
        return self.describe().removesuffix(" (c clears)") if self.active else ""

    def describe(self) -> str:
        if not self.active:
            return "no filter (f, or k d p /)"
        parts = []
        if self.kind:
            parts.append(f"kind {self.kind.value}")
        if self.decision:
            parts.append(f"decision {self.decision.value}")
        if self.problem:
            parts.append(f"problem {self.problem}")
        if self.text:
            parts.append(f'search "{self.text}"')
        if self.held is not None:
            parts.append("held for review")
        return " · ".join(parts) + " (c clears)"


def _cycle(options: list, current) -> Any:
    i = options.index(current) if current in options else 0
    return options[(i + 1) % len(options)]


class PlanView:
    """The changes of a plan as the review table shows them: filtered rows, texts and counts."""

    def __init__(self, plan: Plan):
        self.plan = plan
        self.changes = plan.changes
        self.index = {c.id: i for i, c in enumerate(self.changes)}
        self.kind_counts = Counter(c.kind for c in self.changes)
        self.decision_counts = Counter(c.decision for c in self.changes)
        self._blocked = [i for i, c in enumerate(self.changes) if c.blocked]
        self.filter = Filter()
        # shown in apply order (A1), then sheet order: stable whatever order the plan lists them in
        self.order: list[int] = sorted(range(len(self.changes)), key=lambda i: (
            A1_PHASE[self.changes[i].kind], self.changes[i].row or 1 << 40, self.changes[i].key.casefold()))
        self.rows: list[int] = list(self.order)
        self._texts: dict[int, tuple[str, str]] = {}
        self._haystack: list[str] | None = None
        self._dependents: dict[str, list[str]] | None = None
        attached = {p for c in self.changes for p in c.problems}
        self.row_problems = [p for p in plan.problems if p not in attached]

    @property
    def blocked(self) -> int:
        """Changes that errors keep from being applied; a rejected one is settled (kept as it is)."""
        ch = self.changes
        return sum(1 for i in self._blocked if ch[i].decision is not Decision.REJECTED)

    # --- texts -------------------------------------------------------------------
    def texts(self, i: int) -> tuple[str, str]:
        """(summary, problems) of change i, built on first use."""
        t = self._texts.get(i)
        if t is None:
            c = self.changes[i]
            t = self._texts[i] = (summary(c), problem_text(c))
        return t

    def haystack(self) -> list[str]:
        """Lower-cased searchable text of every change (key, kind, summary, problem codes)."""
        if self._haystack is None:
            self._haystack = [
                f"{c.key} {c.kind.value} {self.texts(i)[0]} {' '.join(p.code for p in c.problems)}".casefold()
                for i, c in enumerate(self.changes)]
        return self._haystack

    # --- filters -----------------------------------------------------------------
    def problem_codes(self) -> list[str]:
        return sorted({p.code for c in self.changes for p in c.problems})

    def set_filter(self, f: Filter) -> None:
        self.filter = f
        idx: Iterable[int] = self.order
        ch = self.changes
        if f.kind is not None:
            idx = [i for i in idx if ch[i].kind is f.kind]
        if f.decision is not None:
            idx = [i for i in idx if ch[i].decision is f.decision]
        if f.problem == ANY_PROBLEM:
            idx = [i for i in idx if ch[i].problems]
        elif f.problem == BLOCKED:
            idx = [i for i in idx if ch[i].blocked and ch[i].decision is not Decision.REJECTED]
        elif f.problem:
            code = f.problem
            idx = [i for i in idx if any(p.code == code for p in ch[i].problems)]
        if f.held is not None:
            held = f.held
            idx = [i for i in idx if ch[i].id in held]
        if f.text:
            needle = f.text.casefold()
            hay = self.haystack()
            idx = [i for i in idx if needle in hay[i]]
        self.rows = list(idx)

    def cycle_kind(self) -> Filter:
        kinds = [None, *(k for k in KIND_ORDER if self.kind_counts.get(k))]
        return replace(self.filter, kind=_cycle(kinds, self.filter.kind))

    def cycle_decision(self) -> Filter:
        return replace(self.filter, decision=_cycle([None, *Decision], self.filter.decision))

    def cycle_problem(self) -> Filter:
        return replace(self.filter, problem=_cycle([None, ANY_PROBLEM, BLOCKED, *self.problem_codes()],
                                                   self.filter.problem))

    # --- decisions -----------------------------------------------------------------
    def decide(self, rows: Iterable[int], decision: Decision) -> tuple[list[tuple[str, Decision]], list[Change]]:
        """Set `decision` on the changes at plan indexes `rows`. Blocked changes are not approved.
        Returns (what changed, as (id, old decision)) and the changes refused."""
        done: list[tuple[str, Decision]] = []
        refused: list[Change] = []
        approve = decision is Decision.APPROVED
        ch = self.changes
        for i in rows:
            c = ch[i]
            old = c.decision
            if old is decision:
                continue
            if approve and c.blocked:
                refused.append(c)
                continue
            done.append((c.id, old))
            c.decision = decision
        for old, n in Counter(old for _, old in done).items():
            self.decision_counts[old] -= n
        self.decision_counts[decision] += len(done)
        return done, refused

    def restore(self, batch: list[tuple[str, Decision]]) -> int:
        """Undo: put decisions back by change id (ids survive a re-plan)."""
        n = 0
        for cid, old in batch:
            i = self.index.get(cid)
            if i is None:
                continue
            c = self.changes[i]
            self.decision_counts[c.decision] -= 1
            self.decision_counts[old] += 1
            c.decision = old
            n += 1
        return n

    # --- dependencies ----------------------------------------------------------------
    def dependents(self) -> dict[str, list[str]]:
        if self._dependents is None:
            self._dependents = self.plan.dependents()
        return self._dependents

    def blocked_by(self, ids: Iterable[str]) -> list[Change]:
        """Every change that depends, directly or not, on one of `ids` and is not rejected itself:
        apply will block them while those are rejected (P1)."""
        deps = self.dependents()
        seen: set[str] = set(ids)
        todo = list(seen)
        out: list[Change] = []
        while todo:
            for d in deps.get(todo.pop(), ()):
                if d not in seen:
                    seen.add(d)
                    todo.append(d)
                    c = self.changes[self.index[d]]
                    if c.decision is not Decision.REJECTED:
                        out.append(c)
        return out

    def change(self, cid: str) -> Change | None:
        i = self.index.get(cid)
        return None if i is None else self.changes[i]


def glyph(kind: Kind) -> str:
    return GLYPH[kind]


def sheet_row(sources, entity: str, row: int) -> dict[str, str | None] | None:
    """The cells of spreadsheet row `row` of the departments or users sheet, by header."""
    table = sources.departments if entity == "department" else sources.users
    if table is None or ROW not in table.df.columns:
        return None
    hit = table.df.filter(pl.col(ROW) == row)
    if hit.height == 0:
        return None
    values = hit.row(0, named=True)
    return {h: values.get(h) for h in table.headers}
