"""A virtual table: draws only the rows on screen, from data the owner keeps.

One widget however many rows (as toolong renders multi-GB logs): a `ScrollView`
whose `render_line` asks `render_row` for the row at that line. Subclasses say
how many rows there are and how a row looks; this class owns the cursor,
scrolling and keys.
"""
from __future__ import annotations

from rich.cells import cell_len, set_cell_size
from rich.segment import Segment
from textual import events
from textual.binding import Binding
from textual.geometry import Size
from textual.message import Message
from textual.reactive import reactive
from textual.scroll_view import ScrollView
from textual.strip import Strip

from ..literal import visible


def fit(text: str, width: int) -> str:
    """`text` cut (with …) or padded to exactly `width` cells; control characters shown escaped (F4)."""
    if width <= 0:
        return ""
    text = visible(text)
    if cell_len(text) > width:
        return set_cell_size(text, width - 1) + "…"
    return set_cell_size(text, width)


class RowsView(ScrollView, can_focus=True):
    """Subclasses implement `row_count` and `render_row`."""

    BINDINGS = [
        Binding("up", "cursor(-1)", "Up", show=False, id="rows.up"),
        Binding("down", "cursor(1)", "Down", show=False, id="rows.down"),
        Binding("pageup", "page(-1)", "Page up", show=False, id="rows.page_up"),
        Binding("pagedown", "page(1)", "Page down", show=False, id="rows.page_down"),
        Binding("home", "jump(0)", "First", show=False, id="rows.first"),
        Binding("end", "jump(-1)", "Last", show=False, id="rows.last"),
        Binding("enter", "choose", "Open", show=False, id="rows.open"),
    ]
    DEFAULT_CSS = """
    RowsView { overflow-x: hidden; overflow-y: auto; }
    """
    COMPONENT_CLASSES = {"rows--cursor", "rows--cursor-blur", "rows--empty"}

    cursor: reactive[int] = reactive(0, always_update=True, repaint=False)

    class Highlighted(Message):
        def __init__(self, view: RowsView, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

        @property
        def control(self) -> RowsView:
            return self.view

    class Chosen(Message):
        """Enter on a row."""

        def __init__(self, view: RowsView, index: int) -> None:
            super().__init__()
            self.view = view
            self.index = index

        @property
        def control(self) -> RowsView:
            return self.view

    empty_text = "Nothing to show."

    def row_count(self) -> int:
        raise NotImplementedError

    def render_row(self, index: int, width: int, cursor: bool) -> list[Segment]:
        raise NotImplementedError

    # --- data changed ------------------------------------------------------------
    def reset_rows(self, keep_cursor: bool = True) -> None:
        """Call after the rows changed: new size, cursor kept in range, redraw."""
        n = self.row_count()
        self.virtual_size = Size(0, n)
        cur = min(self.cursor, max(0, n - 1)) if keep_cursor else 0
        self.set_cursor(cur)
        self.refresh()

    def refresh_row(self, index: int) -> None:
        y = index - self.scroll_offset.y
        if 0 <= y < self.size.height:
            self.refresh_line(y)

    # --- drawing -------------------------------------------------------------------
    def render_line(self, y: int) -> Strip:
        width = self.scrollable_content_region.width
        index = self.scroll_offset.y + y
        n = self.row_count()
        base = self.rich_style
        if n == 0:
            if y == 0:
                style = self.get_component_rich_style("rows--empty")
                return Strip([Segment(fit(f" {self.empty_text}", width), base + style)], width)
            return Strip.blank(width, base)
        if index >= n:
            return Strip.blank(width, base)
        cursor = index == self.cursor
        segments = self.render_row(index, width, cursor)
        strip = Strip(segments).adjust_cell_length(width)
        if cursor:
            base = base + self.get_component_rich_style("rows--cursor" if self.has_focus else "rows--cursor-blur")
        return strip.apply_style(base)

    # --- cursor ---------------------------------------------------------------------
    def set_cursor(self, index: int, *, scroll: bool = True) -> None:
        n = self.row_count()
        index = max(0, min(index, n - 1)) if n else 0
        old = self.cursor
        self.cursor = index
        if scroll:
            self.scroll_cursor_visible()
        self.refresh_row(old)
        self.refresh_row(index)
        self.post_message(self.Highlighted(self, index))

    def scroll_cursor_visible(self) -> None:
        height = self.scrollable_content_region.height or self.size.height
        top = self.scroll_offset.y
        if self.cursor < top:
            self.scroll_to(y=self.cursor, animate=False, immediate=True)
        elif height and self.cursor >= top + height:
            self.scroll_to(y=self.cursor - height + 1, animate=False, immediate=True)

    def action_cursor(self, delta: int) -> None:
        self.set_cursor(self.cursor + delta)

    def action_page(self, direction: int) -> None:
        height = max(1, (self.scrollable_content_region.height or 1) - 1)
        self.set_cursor(self.cursor + direction * height)

    def action_jump(self, where: int) -> None:
        self.set_cursor(self.row_count() - 1 if where < 0 else where)

    def action_choose(self) -> None:
        if self.row_count():
            self.post_message(self.Chosen(self, self.cursor))

    def on_click(self, event: events.Click) -> None:
        index = self.scroll_offset.y + event.y
        if 0 <= index < self.row_count():
            self.set_cursor(index, scroll=False)
            if event.chain >= 2:
                self.post_message(self.Chosen(self, index))

    def on_resize(self) -> None:
        self.scroll_cursor_visible()

    def on_focus(self) -> None:
        self.refresh()

    def on_blur(self) -> None:
        self.refresh()
