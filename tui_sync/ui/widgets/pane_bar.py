"""The top line: which pane is open, the keys to the others, and the config file."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import Static

PANES: tuple[tuple[str, str, str], ...] = (
    ("1", "sources", "Sources"),
    ("2", "mapping", "Mapping"),
    ("3", "review", "Review"),
    ("4", "problems", "Problems"),
    ("5", "runs", "Runs"),
)


class PaneBar(Static):
    def __init__(self, current: str, **kw) -> None:
        super().__init__(**kw)
        self.current = current

    def on_mount(self) -> None:
        self.redraw()

    def redraw(self) -> None:
        t = Text(no_wrap=True, overflow="ellipsis")
        t.append(" tui-sync ", style="bold reverse")
        for key, pane, title in PANES:
            if pane == self.current:
                t.append(f" {key} {title} ", style="bold reverse")
            else:
                t.append(f" {key} ", style="bold")
                t.append(f"{title} ", style="dim")
        self.update(t)
