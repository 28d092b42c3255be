"""Values from a sheet, the LMS or a file shown as they are (F4).

Textual and Rich read strings as markup (`[red]`, `[/]`) in Static, Label,
DataTable, OptionList, Rich tables and toasts, and pass ESC or C1 bytes to the
terminal untouched. Every value the UI shows goes through one of these: a Rich
`Text` is never parsed as markup, and control characters (and the bidirectional
overrides that reorder a line) are shown escaped (`\\x1b`, `\\r`, `\\u202e`), as the
CLI and the run logs show them.
"""
from __future__ import annotations

import re

from rich.text import Text

# C0, DEL and C1, and the bidirectional overrides and isolates that reorder what a terminal shows
_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_CONTROL_BUT_NEWLINE = re.compile("[\x00-\x09\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escape(match: re.Match[str]) -> str:
    ch = match.group()
    return _NAMED.get(ch) or (f"\\x{ord(ch):02x}" if ord(ch) < 0x100 else f"\\u{ord(ch):04x}")


def visible(value: object) -> str:
    """`value` on one line, every control character (line breaks too) shown escaped."""
    text = "" if value is None else str(value)
    return _CONTROL.sub(_escape, text) if _CONTROL.search(text) else text


def readable(value: object) -> str:
    """A message of several lines: line breaks kept, every other control character escaped."""
    text = "" if value is None else str(value)
    return _CONTROL_BUT_NEWLINE.sub(_escape, text) if _CONTROL_BUT_NEWLINE.search(text) else text


def literal(value: object, style: str = "", *, lines: bool = False) -> Text:
    """`value` as Rich text: never markup; on one line unless `lines`."""
    return Text(readable(value) if lines else visible(value), style=style)
