"""The footer every screen shows: compact, so that the keys an operator looks for fit at 80 columns;
the command palette's key only where there is room (? lists every key, and opens the palette too)."""
from __future__ import annotations

from textual import events
from textual.widgets import Footer

PALETTE_FROM = 100  # columns


class KeysFooter(Footer):
    def __init__(self) -> None:
        super().__init__(compact=True)

    def on_resize(self, event: events.Resize) -> None:
        self.show_command_palette = event.size.width >= PALETTE_FROM
