"""Checkboxes, radio buttons and ticked lists whose state shows by shape, not by colour alone
(a colour-blind operator, a 16-colour terminal): on is X or ●, off is an empty box."""
from __future__ import annotations

from rich.segment import Segment
from textual.strip import Strip
from textual.widgets import Checkbox, RadioButton, SelectionList
from textual.widgets._toggle_button import ToggleButton

OFF = " "


class Tick(Checkbox):
    BUTTON_INNER = OFF  # what the button shows follows its value

    def watch_value(self) -> None:
        self.BUTTON_INNER = "X" if self.value else OFF
        super().watch_value()


class Choice(RadioButton):
    BUTTON_INNER = OFF

    def watch_value(self) -> None:
        self.BUTTON_INNER = "●" if self.value else OFF
        super().watch_value()


class Ticks(SelectionList):
    def render_line(self, y: int) -> Strip:
        strip = super().render_line(y)
        segments = list(strip)
        if len(segments) < 2 or segments[1].text != ToggleButton.BUTTON_INNER:
            return strip
        inner = segments[1]
        index = (inner.style.meta or {}).get("option") if inner.style else None
        if index is None or self.get_option_at_index(index).value in self.selected:
            return strip
        segments[1] = Segment(OFF, inner.style, inner.control)
        return Strip(segments, strip.cell_length)
