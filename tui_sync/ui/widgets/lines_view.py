"""A RowsView over a list of prepared lines: (text, style) cells per row."""
from __future__ import annotations

from rich.segment import Segment
from rich.style import Style

from .rows_view import RowsView, fit

Cell = tuple[str, int, str]  # text, width (0 = the rest), style name ("" = plain)


class LinesView(RowsView):
    """Rows are lists of cells; a style name is a Rich style string ("bold red")."""

    def __init__(self, **kw) -> None:
        super().__init__(**kw)
        self.lines: list[list[Cell]] = []
        self._styles: dict[str, Style] = {}

    def set_lines(self, lines: list[list[Cell]], *, keep_cursor: bool = False) -> None:
        self.lines = lines
        self.reset_rows(keep_cursor=keep_cursor)

    def row_count(self) -> int:
        return len(self.lines)

    def _style(self, name: str) -> Style:
        s = self._styles.get(name)
        if s is None:
            s = self._styles[name] = Style.parse(name) if name else Style()
        return s

    def render_row(self, index: int, width: int, cursor: bool) -> list[Segment]:
        out: list[Segment] = []
        used = 0
        cells = self.lines[index]
        for n, (text, w, style) in enumerate(cells):
            last = n == len(cells) - 1
            w = max(0, width - used) if (w == 0 or last) else min(w, max(0, width - used))
            if w <= 0:
                break
            out.append(Segment(fit(text, w), self._style(style)))
            used += w
        return out
