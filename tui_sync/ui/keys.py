"""Key bindings: the list `?` shows, the commands the palette offers, and `[keys]` remapping.

Every binding of tui_sync has an id (`review.approve`, `app.quit`, …). `[keys]` in
the config maps an id to other keys (`review.approve = "y"`, or several: "y,f2"),
through Textual's keymap.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable

from textual.binding import Binding
from textual.dom import DOMNode
from textual.screen import Screen

# ids of tui_sync's own bindings start with one of these
PREFIXES = ("app.", "pane.", "review.", "rows.", "sources.", "mapping.", "runs.", "problems.", "wizard.",
            "confirm.", "notice.", "prompt.", "pick.", "resolve.", "apply.", "export.", "keys.")


@dataclass(frozen=True)
class KeyRow:
    key: str
    description: str
    id: str
    node: DOMNode
    action: str


def ours(binding: Binding) -> bool:
    return bool(binding.id and binding.id.startswith(PREFIXES) and binding.description)


def active_keys(screen: Screen) -> list[KeyRow]:
    """The keys that work on `screen` now (its focused widget, the screen, the app), ours only."""
    rows: dict[str, KeyRow] = {}
    for key, active in screen.active_bindings.items():
        b = active.binding
        if not ours(b) or not active.enabled:
            continue
        shown = screen.app.get_key_display(b)
        have = rows.get(b.id)
        rows[b.id] = KeyRow(f"{have.key}, {shown}" if have else shown, b.description, b.id, active.node, b.action)
    mine = screen_prefix(screen)

    def group(r: KeyRow) -> int:
        prefix = r.id.split(".")[0]
        return 0 if prefix == mine else 2 if prefix in ("pane", "app") else 1

    return sorted(rows.values(), key=group)  # stable: in each group, the order the bindings are declared


def screen_prefix(screen: Screen) -> str:
    return getattr(screen, "KEY_PREFIX", "")


def known_ids(classes: Iterable[type[DOMNode]]) -> set[str]:
    ids: set[str] = set()
    for cls in classes:
        for klass in cls.__mro__:
            for b in getattr(klass, "BINDINGS", ()) or ():
                if isinstance(b, Binding) and b.id:
                    ids.add(b.id)
    return ids
