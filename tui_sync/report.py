"""Plain-text renderings shared by the CLI (and logs): plan summary, check report.

Every value from a sheet, the LMS or a file is shown with its control characters
escaped (F4: `\x1b`, `\n`), so no cell can move the cursor, erase lines or split
a line of the output.
"""
from __future__ import annotations

from collections import defaultdict

from .model import KIND_ORDER, NOT_APPLIED, Kind, Outcome, Plan, Problem
from .run_log import details, printable, resolutions, row_problems, where
from .safe_text import escape_controls as esc

GLYPH = {
    Kind.CREATE_DEPARTMENT: "+", Kind.UPDATE_DEPARTMENT: "~", Kind.DELETE_DEPARTMENT: "−",
    Kind.CREATE_USER: "+", Kind.UPDATE_USER: "~", Kind.INACTIVATE_USER: "⊘", Kind.REACTIVATE_USER: "↺",
}
SHOWN_PER_CODE = 10


def _where(p: Problem) -> str:
    return where(p)


def problem_groups(problems: list[Problem]) -> list[tuple[str, str, list[Problem]]]:
    """(severity, code, its problems), errors first, then by code."""
    by_code: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        by_code[(p.severity.value, p.code)].append(p)
    return [(sev, code, probs) for (sev, code), probs in
            sorted(by_code.items(), key=lambda kv: (kv[0][0] != "error", kv[0][1]))]


def rows_of(probs: list[Problem], shown: int = 5) -> str:
    """Where a group of problems is: "departments row 3; users rows 83, 300" (the first few of each sheet)."""
    by_sheet: dict[str, list[int]] = {}
    for p in probs:
        if p.row is not None:
            by_sheet.setdefault(p.entity, []).append(p.row)
    if not by_sheet:
        return ", ".join(dict.fromkeys(esc(p.key or p.entity) for p in probs[:shown]))
    parts = []
    for entity, rows in by_sheet.items():
        more = f" and {len(rows) - shown} more" if len(rows) > shown else ""
        parts.append(f"{entity}s row{'s' if len(rows) > 1 else ''} " + ", ".join(map(str, rows[:shown])) + more)
    return "; ".join(parts)


def _scoped(info: dict) -> str:
    n = info.get("out_of_scope") or 0
    return f", {n} out of scope" if n else ""


def plan_summary(plan: Plan, *, verbose: bool = False) -> str:
    s = plan.summary()
    lines = []
    src = plan.sources
    if src:
        lines.append("Read " + "; ".join(
            f"{name}: {esc(info.get('source'))} ({info.get('rows')} rows"
            + (f", {esc(info['encoding'])}" if info.get("encoding") else "") + f"{_scoped(info)})"
            for name, info in src.items()))
        for name, info in src.items():  # C1: what each scope rule keeps and drops
            for r in info.get("scope") or ():
                lines.append(f"  {name} scope {esc(r['rule'])} — keeps {r['keeps']}, drops {r['drops']}")
        lines.append("")
    lines.append("Changes:")
    width = max(len(k.value) for k in KIND_ORDER)
    for k in KIND_ORDER:
        n = s[k.value]
        blocked = sum(1 for c in plan.changes if c.kind is k and c.blocked)
        extra = f"   ({blocked} blocked)" if blocked else ""
        lines.append(f"  {GLYPH[k]} {k.value:<{width}} {n:>7}{extra}")
    if verbose:
        lines.append("")
        for c in plan.changes:
            what = ", ".join(f"{esc(f)}: {printable(b)} → {printable(a)}" for f, (b, a) in c.fields.items())
            row = f" (row {c.row})" if c.row else ""
            mark = "  [blocked]" if c.blocked else ""
            lines.append(f"  {GLYPH[c.kind]} {c.kind.value} {esc(c.key)}{row}: {what}{mark}")
    lines.append("")
    lines.append(f"Problems: {s['errors']} error(s), {s['warnings']} warning(s)")
    for sev, code, probs in problem_groups(plan.problems):
        lines.append(f"  {code} — {len(probs)} {sev}{'s' if len(probs) != 1 else ''}")
        shown = len(probs) if verbose else SHOWN_PER_CODE
        for p in probs[:shown]:
            lines.append(f"    {_where(p)}: {esc(p.message)}")
        if len(probs) > shown:
            lines.append(f"    … and {len(probs) - shown} more (see `plan --json`)")
    total = len(plan.changes)
    lines.append("")
    if total:
        lines.append(f"Plan: {total} change(s). Nothing has been changed. Review and apply in the UI (`tui-sync`),"
                     " or save with --out plan.json.")
    else:
        lines.append("Plan: no changes. The LMS already matches the sheets.")
    return "\n".join(lines)


# --- runs (A3) -------------------------------------------------------------------

def run_line(run) -> str:
    from .state.runs import totals  # (deferred: see run_text)

    t = totals(run)
    parts = ", ".join(f"{n} {o}" for o, n in sorted(t.items()) if n) or "no changes"
    return f"{run.id:>5}  {run.started}  {run.trigger:<8} {run.status:<12} {parts}"


def runs_table(runs: list) -> str:
    if not runs:
        return "No runs yet."
    return "\n".join(["   id  started                    trigger  status       outcomes",
                      *(run_line(r) for r in runs)])


BLOCKED_WHY = "not applied: it has errors (unresolved) or depends on a change that was not applied"


def why_not_applied(change) -> str:
    """A recorded change's error, or what its outcome means when it has none."""
    return change.error or (BLOCKED_WHY if change.outcome == Outcome.BLOCKED else "")


def run_text(run, plan: Plan | None = None) -> str:
    """A readable log of one run, for a ticket; with the plan it applied (`service.run_plan`), each
    change's values before → after, the sheet rows' problems and the resolutions."""
    from .state.runs import totals  # (deferred: the run store opens SQLite and reads plans; a plan report needs neither)

    lines = [
        f"tui_sync run {run.id}",
        f"  status:   {run.status}",
        f"  started:  {run.started}",
        f"  ended:    {run.ended or '—'}",
        f"  trigger:  {run.trigger} by {run.actor}",
        f"  config:   {esc(run.config)}",
    ]
    for name, info in (run.sources or {}).items():
        lines.append(f"  {name}: {esc(info.get('source'))} — {info.get('rows')} rows, "
                     f"sha256 {str(info.get('fingerprint'))[:16]}…")
    if run.message:
        lines.append(f"  note:     {esc(run.message)}")
    t = totals(run)
    lines.append("  outcomes: " + (", ".join(f"{n} {o}" for o, n in sorted(t.items()) if n) or "none"))
    lines.append("")
    lines.append("Per kind:")
    for kind, per in sorted(run.counts.items()):
        if isinstance(per, dict):
            lines.append(f"  {kind:<20} " + ", ".join(f"{n} {o}" for o, n in sorted(per.items())))
    lines.append("")
    lines.append("Changes:")
    info = details(plan)
    for c in run.changes:
        why = why_not_applied(c)
        lines.append(f"  [{c.outcome:<8}] {c.kind} {esc(c.key)}" + (f" — {esc(why)}" if why else ""))
        more = info.get(c.change_id, {})
        lines.extend(f"      {esc(line)}" for line in more.get("fields", []))
        lines.extend(f"      {esc(line)}" for line in more.get("problems", []))
        if more.get("note"):
            lines.append(f"      note: {esc(more['note'])}")
    if plan is not None:
        done = resolutions(plan)
        if done:
            lines += ["", "Resolutions (users moved out of a department that is deleted):", *(f"  {esc(r)}" for r in done)]
        problems = row_problems(plan)
        lines += ["", f"Rows that yielded no change ({len(problems)} problem(s)):" if problems else
                  "Rows that yielded no change: none", *(f"  {esc(p)}" for p in problems)]
    return "\n".join(lines)


def run_csv(run, plan: Plan | None = None) -> str:
    """One line per change; with the plan, its values before → after, its problems and a note."""
    from .export import csv_text  # (deferred: export loads polars, which a text report does not need)

    info = details(plan)
    return csv_text(["run", "change", "kind", "key", "outcome", "error", "lms_id", "at", "before → after",
                     "problems", "note"],
                    [[run.id, esc(c.change_id), c.kind, esc(c.key), c.outcome, c.error and esc(c.error), c.lms_id,
                      c.at, esc("; ".join(info.get(c.change_id, {}).get("fields", []))),
                      esc("; ".join(info.get(c.change_id, {}).get("problems", []))),
                      esc(info.get(c.change_id, {}).get("note", ""))] for c in run.changes])


def apply_summary(report) -> str:
    lines = []
    if report.resumed is not None:
        lines.append(f"Resumed interrupted run {report.resumed.id}: {run_line(report.resumed).split(None, 4)[-1]}")
    lines.append(run_text(report.run) if len(report.run.changes) <= 200 else run_line(report.run))
    failed = [c for c in report.run.changes if c.outcome in NOT_APPLIED]
    if failed and len(report.run.changes) > 200:
        lines.append("Not applied:")
        lines += [f"  [{c.outcome}] {c.kind} {esc(c.key)} — {esc(why_not_applied(c))}" for c in failed[:50]]
        if len(failed) > 50:
            lines.append(f"  … and {len(failed) - 50} more (`tui-sync runs show {report.run.id}`)")
    if report.held:
        lines.append("")
        lines.append(f"{len(report.held)} change(s) held for review, saved to {report.held_path}:")
        lines += [f"  - {esc(r)}" for r in report.held_reasons]
        lines.append(f"  approve them in the UI, or: tui-sync apply --plan {report.held_path} --approve all")
    return "\n".join(lines)
