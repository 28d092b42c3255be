"""`?`: the keys that work here, with their binding ids for [keys] in the config."""
from __future__ import annotations

from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..keys import KeyRow
from ..literal import literal
from ..widgets.keys_footer import KeysFooter


# keys every screen knows (Textual's own, not remappable)
MOVING = (
    ("tab, shift+tab", "move to the next / previous part (the change's detail, a wide sheet), "
                       "then scroll it with the arrows"),
    ("ctrl+p", "the command palette: every action by name"),
)


class KeysScreen(ModalScreen[None]):
    BINDINGS = [Binding("escape,question_mark,q", "close", "Close", id="keys.close")]

    def __init__(self, title: str, rows: list[KeyRow]) -> None:
        super().__init__()
        self.title_text = title
        self.rows = rows

    def compose(self) -> ComposeResult:
        table = Table(box=None, expand=True, show_header=True, header_style="bold")
        table.add_column("key", style="bold", no_wrap=True)
        table.add_column("what it does")
        table.add_column("id, to remap it", style="dim", no_wrap=True)
        for r in self.rows:
            table.add_row(literal(r.key), literal(r.description), literal(r.id))  # [keys] come from the config (F4)
        for key, what in MOVING:
            table.add_row(key, what, "")
        note = Text("To use other keys, name the id in tui-sync.toml: [keys] then, e.g., review.approve = \"y\". "
                    "Every action of every pane is also in the command palette (ctrl+p): type what you want, "
                    "e.g. \"export\".", style="dim")
        with Vertical(id="dialog", classes="wide tall"):
            yield Static(literal(f"Keys — {self.title_text}"), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(table)
                yield Static(note)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#dialog-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
