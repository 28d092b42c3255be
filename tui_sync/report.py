"""Plain-text renderings shared by the CLI (and logs): plan summary, check report."""
from __future__ import annotations

from collections import defaultdict

from .model import KIND_ORDER, Kind, Plan, Problem

GLYPH = {
    Kind.CREATE_DEPARTMENT: "+", Kind.UPDATE_DEPARTMENT: "~", Kind.DELETE_DEPARTMENT: "✖",
    Kind.CREATE_USER: "+", Kind.UPDATE_USER: "~", Kind.INACTIVATE_USER: "⊘", Kind.REACTIVATE_USER: "↺",
}
SHOWN_PER_CODE = 10


def _where(p: Problem) -> str:
    bits = []
    if p.row is not None:
        bits.append(f"{p.entity}s row {p.row}")
    if p.column:
        bits.append(f'column "{p.column}"')
    if p.key:
        bits.append(p.key)
    return ", ".join(bits) or p.entity


def plan_summary(plan: Plan, *, verbose: bool = False) -> str:
    s = plan.summary()
    lines = []
    src = plan.sources
    if src:
        lines.append("Read " + "; ".join(
            f"{name}: {info.get('source')} ({info.get('rows')} rows)" for name, info in src.items()))
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
            what = ", ".join(f"{f}: {b!s} → {a!s}" for f, (b, a) in c.fields.items())
            row = f" (row {c.row})" if c.row else ""
            mark = "  [blocked]" if c.blocked else ""
            lines.append(f"  {GLYPH[c.kind]} {c.kind.value} {c.key}{row}: {what}{mark}")
    by_code: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in plan.problems:
        by_code[(p.severity.value, p.code)].append(p)
    lines.append("")
    lines.append(f"Problems: {s['errors']} error(s), {s['warnings']} warning(s)")
    for (sev, code), probs in sorted(by_code.items(), key=lambda kv: (kv[0][0] != "error", kv[0][1])):
        lines.append(f"  {code} — {len(probs)} {sev}{'s' if len(probs) != 1 else ''}")
        for p in probs[:SHOWN_PER_CODE]:
            lines.append(f"    {_where(p)}: {p.message}")
        if len(probs) > SHOWN_PER_CODE:
            lines.append(f"    … and {len(probs) - SHOWN_PER_CODE} more (see `plan --json`)")
    total = len(plan.changes)
    lines.append("")
    if total:
        lines.append(f"Plan: {total} change(s). Nothing has been changed. Review and apply in the UI (`tui-sync`),"
                     " or save with --out plan.json.")
    else:
        lines.append("Plan: no changes. The LMS already matches the sheets.")
    return "\n".join(lines)
