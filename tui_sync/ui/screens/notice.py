"""A text to read (a connection check, a run summary); any key of the footer closes it."""
from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ..literal import literal
from ..widgets.keys_footer import KeysFooter


class NoticeScreen(ModalScreen[None]):
    BINDINGS = [
        Binding("escape,enter,q", "close", "Close", id="notice.close"),
    ]

    def __init__(self, title: str, body: RenderableType) -> None:
        super().__init__()
        self.title_text = title
        self.body = body

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="wide"):
            yield Static(literal(self.title_text), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(literal(self.body, lines=True) if isinstance(self.body, str) else self.body)
        yield KeysFooter()

    def on_mount(self) -> None:
        self.query_one("#dialog-body").focus()

    def action_close(self) -> None:
        self.dismiss(None)
