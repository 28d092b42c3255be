"""Values from a sheet, the LMS or a file shown as they are (F4).

Textual and Rich read strings as markup (`[red]`, `[/]`) in Static, Label,
DataTable, OptionList, Rich tables and toasts, and pass ESC or C1 bytes to the
terminal untouched. Every value the UI shows goes through one of these: a Rich
`Text` is never parsed as markup, and control characters (and the bidirectional
overrides that reorder a line) are shown escaped (`\\x1b`, `\\r`, `\\u202e`), as the
CLI and the run logs show them.
"""
from __future__ import annotations

from rich.text import Text

from ..safe_text import escape_controls, escape_output


def visible(value: object) -> str:
    """`value` on one line, every control character (line breaks too) shown escaped."""
    return "" if value is None else escape_controls(value)


def readable(value: object) -> str:
    """A message of several lines: line breaks kept, every other control character escaped."""
    return "" if value is None else escape_output(str(value))


def literal(value: object, style: str = "", *, lines: bool = False) -> Text:
    """`value` as Rich text: never markup; on one line unless `lines`."""
    return Text(readable(value) if lines else visible(value), style=style)
