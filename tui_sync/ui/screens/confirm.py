"""Yes/No questions. The answer that changes nothing is the default (focused) one."""
from __future__ import annotations

from rich.console import RenderableType
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Horizontal, Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Button, Static

from ..literal import literal


class ConfirmScreen(ModalScreen[bool]):
    """`y` answers yes, `n` or escape no; enter presses the focused button (No by default).
    A title or body given as a string is shown literally (F4); a Rich body is shown as built."""

    BINDINGS = [
        Binding("y", "answer(True)", "Yes", id="confirm.yes"),
        Binding("n", "answer(False)", "No", id="confirm.no"),
        Binding("escape", "answer(False)", "No", show=False, id="confirm.cancel"),
        Binding("left,right", "switch", "Switch", show=False, id="confirm.switch"),
    ]

    def __init__(self, title: str, body: RenderableType, *, yes: str = "Yes", no: str = "No",
                 default: bool = False, danger: bool = False) -> None:
        super().__init__()
        self.title_text = title
        self.body = body
        self.yes, self.no = yes, no
        self.default = default
        self.danger = danger

    def compose(self) -> ComposeResult:
        with Vertical(id="dialog", classes="danger" if self.danger else ""):
            yield Static(literal(self.title_text), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(literal(self.body, lines=True) if isinstance(self.body, str) else self.body)
            with Horizontal(id="dialog-buttons"):
                yield Button(f"{self.yes} (y)", id="yes", variant="error" if self.danger else "primary", compact=True)
                yield Button(f"{self.no} (n)", id="no", compact=True)

    def on_mount(self) -> None:
        self.query_one("#yes" if self.default else "#no", Button).focus()

    def on_button_pressed(self, event: Button.Pressed) -> None:
        event.stop()
        self.dismiss(event.button.id == "yes")

    def action_answer(self, yes: bool) -> None:
        self.dismiss(yes)

    def action_switch(self) -> None:
        self.focus_next(Button)
