"""The detail of the highlighted change: fields before → after, the sheet row,
the match rule, problems, what it depends on and what depends on it.

Every key, field, value and message is literal text (F4): Rich tables read plain
strings as markup."""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.containers import VerticalScroll
from textual.widgets import Static

from ...model import Change, Decision, Kind
from ...run_log import resolution_of
from ..literal import literal, visible
from ..plan_rows import KIND_TONE, TONE_STYLE, PlanView, glyph, show

RULES = {
    None: "new (no LMS object matched)",
    "userUniqueKey": "by userUniqueKey (the ledger knows the key)",
    "login+email": "by login and email (both found this user)",
    "login": "by login (the email changed or is new)",
    "email": "by email (the login changed or is new)",
    "departmentUniqueKey": "by departmentUniqueKey",
    "code": "by code",
}
LISTED = 12


def _ref(c: Change) -> Text:
    return Text.assemble((f"{glyph(c.kind)} {c.kind.value} ", TONE_STYLE[KIND_TONE[c.kind]]), visible(c.key),
                         (f"  ({c.decision.value})", "dim"))


def _rule(c: Change, view: PlanView) -> str:
    if c.rule is None and c.kind in (Kind.INACTIVATE_USER, Kind.DELETE_DEPARTMENT) and not c.row:
        return "managed by this sync and no longer in the sheet"
    r = resolution_of(c, view.plan)
    if r is not None:
        return f"an existing LMS user, moved because the users of {r.move_users_of} move to {r.to} (your resolution of the department's delete)"
    if c.rule is None and c.target is not None:
        return "an existing LMS object"
    return RULES.get(c.rule, c.rule or "—")


def render_change(c: Change, view: PlanView, sheet_row: dict[str, str | None] | None) -> list:
    parts: list = []
    head = Text.assemble((f"{glyph(c.kind)} {c.kind.value}  ", TONE_STYLE[KIND_TONE[c.kind]] + " bold"), (visible(c.key), "bold"))
    parts.append(head)
    where = f"sheet row {c.row}" if c.row else "no sheet row"
    parts.append(Text(f"{where} · match: {_rule(c, view)} · decision: {c.decision.value}", style="dim"))
    fields = Table(box=None, show_header=True, header_style="bold", pad_edge=False, expand=False)
    fields.add_column("field")
    fields.add_column("before", overflow="fold")
    fields.add_column("", width=1)
    fields.add_column("after", overflow="fold")
    for name, (before, after) in c.fields.items():
        fields.add_row(literal(name), literal(show(before)), "→", literal(show(after), "bold"))
    parts.append(fields)
    if c.problems:
        parts.append(Text("Problems", style="bold"))
        for p in c.problems:
            mark, style = ("✖", TONE_STYLE["error"]) if p.is_error else ("⚠", TONE_STYLE["warning"])
            parts.append(Text.assemble((f" {mark} {p.code}: ", style), literal(p.message, lines=True)))
        if c.blocked:
            if c.kind is Kind.DELETE_DEPARTMENT:
                parts.append(Text(" Cannot be approved until resolved: press enter to resolve.", style=TONE_STYLE["error"]))
            else:
                parts.append(Text(" Cannot be approved: fix the sheet and plan again (F5).", style=TONE_STYLE["error"]))
    if c.depends_on:
        parts.append(Text("Depends on", style="bold"))
        for d in c.depends_on[:LISTED]:
            dep = view.change(d)
            if dep is not None:
                line = _ref(dep)
                if dep.decision is Decision.REJECTED:
                    line.append("  → this change will be blocked", style=TONE_STYLE["error"])
                parts.append(Text.assemble(" ", line))
        if len(c.depends_on) > LISTED:
            parts.append(Text(f" … and {len(c.depends_on) - LISTED} more", style="dim"))
    dependents = view.dependents().get(c.id, [])
    if dependents:
        title = "Needed by" + (" — blocked while this is rejected" if c.decision is Decision.REJECTED else "")
        parts.append(Text(title, style="bold " + TONE_STYLE["error"] if c.decision is Decision.REJECTED else "bold"))
        for d in dependents[:LISTED]:
            dep = view.change(d)
            if dep is not None:
                parts.append(Text.assemble(" ", _ref(dep)))
        if len(dependents) > LISTED:
            parts.append(Text(f" … and {len(dependents) - LISTED} more", style="dim"))
    if sheet_row:
        parts.append(Text(f"Sheet row {c.row}", style="bold"))
        row = Table(box=None, show_header=False, pad_edge=False)
        row.add_column(style="dim")
        row.add_column(overflow="fold")
        for k, v in sheet_row.items():
            row.add_row(literal(k), literal(show(v)))
        parts.append(row)
    return parts


class ChangeDetail(VerticalScroll, can_focus=True):
    """Scrollable (focus it with tab, then arrows)."""

    def compose(self):
        yield Static(id="detail-body")

    def show_parts(self, parts: list) -> None:
        self.query_one("#detail-body", Static).update(Group(*parts) if parts else "")
        self.scroll_home(animate=False)
