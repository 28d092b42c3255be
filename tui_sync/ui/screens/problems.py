"""Problems: the plan's row problems (rows that yield no change), grouped by code, with sheet rows."""
from __future__ import annotations

from collections import defaultdict

from rich.text import Text
from textual.app import ComposeResult
from textual.widgets import Static

from ...model import Problem
from ..literal import literal, visible
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from ..widgets.lines_view import LinesView
from ..widgets.pane_bar import PaneBar
from ..widgets.rows_view import RowsView
from .notice import NoticeScreen
from .pane import Pane


def where(p: Problem) -> str:
    bits = []
    if p.row is not None:
        bits.append(f"{p.entity}s row {p.row}")
    if p.column:
        bits.append(p.column)
    return " · ".join(bits) or p.entity


def problem_lines(problems: list[Problem]) -> tuple[list, list[Problem | None]]:
    groups: dict[tuple[str, str], list[Problem]] = defaultdict(list)
    for p in problems:
        groups[(p.severity.value, p.code)].append(p)
    lines: list = []
    refs: list[Problem | None] = []
    for (sev, code), items in sorted(groups.items(), key=lambda kv: (kv[0][0] != "error", kv[0][1])):
        mark, style = ("✖", TONE_STYLE["error"]) if sev == "error" else ("⚠", TONE_STYLE["warning"])
        lines.append([(f"{mark} {code} — {len(items)} {sev}{'s' if len(items) != 1 else ''}", 0, "bold " + style)])
        refs.append(None)
        for p in sorted(items, key=lambda p: (p.entity, p.row or 0)):
            lines.append([("  ", 2, ""), (where(p), 29, "dim"), (" ", 1, ""), (p.key or "", 15, "bold"), (" ", 1, ""),
                          (p.message, 0, "")])
            refs.append(p)
    return lines, refs


class ProblemsScreen(Pane):
    PANE = "problems"
    KEY_PREFIX = "problems"

    def compose(self) -> ComposeResult:
        yield PaneBar(self.PANE)
        yield Static(id="problems-head")
        yield LinesView(id="problems-list")
        yield KeysFooter()

    def on_mount(self) -> None:
        self.refs: list[Problem | None] = []
        super().on_mount()
        self.query_one(LinesView).focus()

    def session_changed(self) -> None:
        s = self.session
        view = s.view
        head = self.query_one("#problems-head", Static)
        lv = self.query_one(LinesView)
        failed = s.config_error or s.plan_error
        if view is None or (failed and not s.planning):  # never the last plan's problems as if current
            head.update("Planning…" if s.planning else literal(
                f"Nothing could be planned:\n{failed}\n\nFix it and press F5 to plan again." if failed
                else "No plan yet.", TONE_STYLE["error"] if failed else "", lines=True))
            lv.set_lines([])
            self.refs = []
            return
        probs = view.row_problems
        errors = sum(1 for p in probs if p.is_error)
        head.update(Text.assemble(
            ("Planning again: these are the last plan's. " if s.planning else "", TONE_STYLE["warning"]),
            (f"{len(probs)} row problem(s): {errors} error(s), {len(probs) - errors} warning(s). ", "bold"),
            ("Rows with errors yield no change; fix them in the sheet and plan again (F5). "
             "Problems of changes are in the review pane.", "dim")))
        lv.empty_text = "No row problems: every row of the sheets could be planned."
        lines, self.refs = problem_lines(probs)
        lv.set_lines(lines)

    def action_open(self) -> None:
        lv = self.query_one(LinesView)
        if 0 <= lv.cursor < len(self.refs) and self.refs[lv.cursor] is not None:
            p = self.refs[lv.cursor]
            body = Text.assemble((f"{p.severity.value}: {p.code}\n", "bold"), visible(where(p)),
                                 visible(f", {p.key}") if p.key else "", "\n\n", literal(p.message, lines=True))
            self.app.push_screen(NoticeScreen("Problem", body))

    def on_rows_view_chosen(self, event: RowsView.Chosen) -> None:
        event.stop()
        self.action_open()
