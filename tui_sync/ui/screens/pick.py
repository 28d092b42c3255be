"""Pick one item from a list, narrowed by typing (departments, sheet columns)."""
from __future__ import annotations

from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical
from textual.screen import ModalScreen
from textual.widgets import Input, OptionList, Static
from textual.widgets.option_list import Option

from ..literal import literal
from ..widgets.keys_footer import KeysFooter


class PickScreen(ModalScreen[str | None]):
    """Items are (value, label). Type to filter; up/down to move; enter to pick; escape to cancel.
    Titles and labels are shown literally (F4): they hold sheet columns and department names."""

    BINDINGS = [
        Binding("escape", "cancel", "Cancel", id="pick.cancel"),
        Binding("down", "move(1)", "Down", show=False, id="pick.down"),
        Binding("up", "move(-1)", "Up", show=False, id="pick.up"),
    ]

    def __init__(self, title: str, items: list[tuple[str, str]], *, note: str = "") -> None:
        super().__init__()
        self.title_text = title
        self.items = items
        self.note = note

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide"):
            yield Static(literal(self.title_text), id="dialog-title")
            if self.note:
                yield Static(literal(self.note, lines=True), classes="dialog-label")
            yield Input(placeholder="type to search", id="pick-search", compact=True)
            yield OptionList(*self._options(""), id="pick-list")
        yield KeysFooter()

    def _options(self, text: str) -> list[Option]:
        needle = text.casefold()
        return [Option(literal(label), id=value) for value, label in self.items
                if not needle or needle in label.casefold() or needle in value.casefold()]

    def on_mount(self) -> None:
        self.query_one(Input).focus()
        ol = self.query_one(OptionList)
        if ol.option_count:
            ol.highlighted = 0

    def on_input_changed(self, event: Input.Changed) -> None:
        ol = self.query_one(OptionList)
        ol.clear_options()
        ol.add_options(self._options(event.value))
        if ol.option_count:
            ol.highlighted = 0

    def on_input_submitted(self, event: Input.Submitted) -> None:
        event.stop()
        ol = self.query_one(OptionList)
        if ol.highlighted is not None and ol.option_count:
            self.dismiss(ol.get_option_at_index(ol.highlighted).id)

    def on_option_list_option_selected(self, event: OptionList.OptionSelected) -> None:
        event.stop()
        self.dismiss(event.option.id)

    def action_move(self, delta: int) -> None:
        ol = self.query_one(OptionList)
        if ol.option_count:
            cur = ol.highlighted if ol.highlighted is not None else -delta
            ol.highlighted = max(0, min(ol.option_count - 1, cur + delta))

    def action_cancel(self) -> None:
        self.dismiss(None)
