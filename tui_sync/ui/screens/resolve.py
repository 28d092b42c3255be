"""D5: a department delete blocked by users or child departments that stay.

Choices: keep the department (reject its delete), or move its users to a
department picked from a searchable list (a resolution: the plan is made again).
"""
from __future__ import annotations

from rich.console import Group
from rich.table import Table
from rich.text import Text
from textual.app import ComposeResult
from textual.binding import Binding
from textual.containers import Vertical, VerticalScroll
from textual.screen import ModalScreen
from textual.widgets import Static

from ...model import Change
from ..literal import literal, visible
from ..plan_rows import TONE_STYLE
from ..widgets.keys_footer import KeysFooter
from .pick import PickScreen

LISTED = 300


class ResolveScreen(ModalScreen[tuple[str, str] | None]):
    BINDINGS = [
        Binding("k", "keep", "Keep the department", id="resolve.keep"),
        Binding("m", "move", "Move its users…", id="resolve.move"),
        Binding("escape", "cancel", "Cancel", id="resolve.cancel"),
    ]

    def __init__(self, change: Change, blockers, targets) -> None:
        super().__init__()
        self.change = change
        self.blockers = blockers
        self.targets = [t for t in targets if t.code.casefold() != change.key.casefold()]

    def compose(self) -> ComposeResult:
        b = self.blockers
        with Vertical(id="dialog", classes="wide tall"):
            yield Static(literal(f"Resolve: delete department {b.code} ({b.name})"), id="dialog-title")
            with VerticalScroll(id="dialog-body"):
                yield Static(self.body())
        yield KeysFooter()

    def body(self):
        b = self.blockers
        parts: list = [Text("The department is no longer in the sheet, but it cannot be deleted while it "
                            "still has these after the sync:", style="bold")]
        if b.users:
            t = Table(title=f"Users ({len(b.users)})", title_justify="left", box=None, header_style="bold",
                      expand=True)
            for col in ("login", "name", "email", "status"):
                t.add_column(col, overflow="ellipsis", no_wrap=True)
            for u in b.users[:LISTED]:
                t.add_row(*(literal(v) for v in (u.login, u.name, u.email, u.status)))
            parts.append(t)
            if len(b.users) > LISTED:
                parts.append(Text(f"… and {len(b.users) - LISTED} more", style="dim"))
        if b.children:
            t = Table(title=f"Child departments that stay ({len(b.children)})", title_justify="left", box=None,
                      header_style="bold", expand=True)
            t.add_column("code")
            t.add_column("name")
            t.add_column("")
            for d in b.children[:LISTED]:
                t.add_row(literal(d.code), literal(d.name), "its own delete is blocked" if d.deleted_but_blocked else "")
            parts.append(t)
        parts.append(Text("\nChoices", style="bold"))
        parts.append(Text.assemble(("  k ", "bold"), "keep the department: its delete is rejected, nothing else changes"))
        if b.users:
            extra = " (the child departments still block the delete)" if b.children else \
                f" (its parent, {visible(b.parent)}, comes first)" if b.parent else ""
            parts.append(Text.assemble(("  m ", "bold"),
                                       f"move its {len(b.users)} user(s) to another department{extra}; "
                                       "the plan is made again and every decision is kept"))
        else:
            parts.append(Text("  Child departments cannot be moved from here: move or delete them in the LMS "
                              "(or add them to the sheet under another parent), then plan again.",
                              style=TONE_STYLE["warning"]))
        parts.append(Text("  escape: decide later", style="dim"))
        return Group(*parts)

    def on_mount(self) -> None:
        self.query_one("#dialog-body").focus()

    def check_action(self, action: str, parameters) -> bool | None:
        if action == "move" and not self.blockers.users:
            return False  # only child departments block it: there is nobody to move, so no `m` at all
        return True

    def action_keep(self) -> None:
        self.dismiss(("keep", self.change.key))

    def action_move(self) -> None:
        if not self.blockers.users:
            return
        parent = (self.blockers.parent or "").casefold()
        targets = sorted(self.targets, key=lambda t: t.code.casefold() != parent)  # the parent first
        items = [(t.code, f"{t.code}  {t.name}" + ("  (new in this plan)" if t.new else "")
                  + ("  (its parent department)" if t.code.casefold() == parent else "")) for t in targets]

        def picked(code: str | None) -> None:
            if code:
                self.dismiss(("move", code))

        self.app.push_screen(PickScreen(f"Move the users of {self.change.key} to…", items,
                                        note="Departments that stay after this sync."), picked)

    def action_cancel(self) -> None:
        self.dismiss(None)
