"""The review table: one line per change of the filtered plan, drawn on demand."""
from __future__ import annotations

from dataclasses import dataclass

from rich.segment import Segment
from rich.text import Text
from rich.style import Style
from textual.binding import Binding
from textual.strip import Strip
from textual.widget import Widget

from ...model import Decision
from ..plan_rows import KIND_LABEL, KIND_TONE, PlanView, glyph
from .rows_view import RowsView, fit


@dataclass(frozen=True)
class Columns:
    mark: int = 2
    glyph: int = 2
    kind: int = 12
    key: int = 18
    summary: int = 20
    problems: int = 14
    decision: int = 9

    @classmethod
    def for_width(cls, width: int) -> Columns:
        key = 16 if width < 100 else 22 if width < 160 else 28
        problems = 12 if width < 100 else 24
        fixed = 2 + 2 + 12 + key + problems + 9 + 4  # 4: gaps
        return cls(key=key, problems=problems, summary=max(8, width - fixed))


def header_text(width: int) -> Text:
    c = Columns.for_width(width)
    return Text(" " * (c.mark + c.glyph) + fit("kind", c.kind) + " " + fit("object", c.key) + " "
            + fit("what changes", c.summary) + " " + fit("problems", c.problems) + " " + fit("decision", c.decision), no_wrap=True)


class PlanHeader(Widget):
    """Column titles, laid out as the table lays out its rows."""

    def render_line(self, y: int) -> Strip:
        width = self.size.width
        return Strip([Segment(header_text(width).plain, self.rich_style)]).adjust_cell_length(width, self.rich_style)


class PlanTable(RowsView):
    BINDINGS = [
        Binding("shift+up", "extend(-1)", "Extend selection up", show=False, id="review.extend_up"),
        Binding("shift+down", "extend(1)", "Extend selection down", show=False, id="review.extend_down"),
    ]
    COMPONENT_CLASSES = {
        "plan--create", "plan--update", "plan--delete", "plan--inactivate", "plan--reactivate",
        "plan--pending", "plan--approved", "plan--rejected", "plan--blocked",
        "plan--error", "plan--warning", "plan--selected", "plan--dim",
    }
    empty_text = "No change matches the filter."

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.view: PlanView | None = None
        self.anchor: int | None = None  # range selection: from anchor to cursor

    def row_count(self) -> int:
        return len(self.view.rows) if self.view else 0

    def show_view(self, view: PlanView | None, *, keep_cursor: bool = False) -> None:
        self.view = view
        self.anchor = None
        self.empty_text = "No change matches the filter." if view and view.changes else "The plan has no changes."
        self.reset_rows(keep_cursor=keep_cursor)

    # --- selection ------------------------------------------------------------------
    def selected_rows(self) -> list[int]:
        """Plan indexes of the selection, or of the cursor row when nothing is selected."""
        if not self.view or not self.view.rows:
            return []
        if self.anchor is None:
            return [self.view.rows[self.cursor]]
        lo, hi = sorted((self.anchor, self.cursor))
        return self.view.rows[lo:hi + 1]

    def toggle_selection(self) -> None:
        self.anchor = None if self.anchor is not None else self.cursor
        self.refresh()

    def clear_selection(self) -> bool:
        had = self.anchor is not None
        self.anchor = None
        self.refresh()
        return had

    def action_extend(self, delta: int) -> None:
        if self.anchor is None:
            self.anchor = self.cursor
        self.set_cursor(self.cursor + delta)
        self.refresh()

    def current(self):
        if not self.view or not self.view.rows:
            return None
        return self.view.changes[self.view.rows[self.cursor]]

    # --- drawing ----------------------------------------------------------------------
    def style(self, name: str) -> Style:
        return self.get_component_rich_style(f"plan--{name}", partial=True)

    def render_row(self, index: int, width: int, cursor: bool) -> list[Segment]:
        view = self.view
        assert view is not None
        i = view.rows[index]
        c = view.changes[i]
        summary, problems = view.texts(i)
        col = Columns.for_width(width)
        tone = self.style(KIND_TONE[c.kind])
        selected = self.anchor is not None and min(self.anchor, self.cursor) <= index <= max(self.anchor, self.cursor)
        if c.decision is Decision.REJECTED:
            decision, dstyle = "rejected", self.style("rejected")
        elif c.decision is Decision.APPROVED:
            decision, dstyle = "approved", self.style("approved")
        elif c.blocked:
            decision, dstyle = "blocked", self.style("blocked")
        else:
            decision, dstyle = "pending", self.style("pending")
        pstyle = self.style("error") if c.blocked else self.style("warning")
        text_style = self.style("dim") if c.decision is Decision.REJECTED else Style()
        return [
            Segment("▌ " if selected else "  ", self.style("selected")),
            Segment(fit(glyph(c.kind), col.glyph), tone),
            Segment(fit(KIND_LABEL[c.kind], col.kind) + " ", tone),
            Segment(fit(c.key, col.key) + " ", text_style),
            Segment(fit(summary, col.summary) + " ", text_style),
            Segment(fit(problems, col.problems) + " ", pstyle),
            Segment(fit(decision, col.decision), dstyle),
        ]
