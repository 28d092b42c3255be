"""The first rows of a sheet, with their spreadsheet row numbers: headers and cells literal (F4)."""
from __future__ import annotations

from rich.text import Text
from textual.widgets import DataTable

from ...sources.table import ROW, Table
from ..literal import literal

SHOWN = 100
WIDEST = 60  # cells: one long value must not push every other column off the screen


def cell(value: object) -> Text:
    text = literal(value)
    text.truncate(WIDEST, overflow="ellipsis")
    return text


class SheetPreview(DataTable):
    def __init__(self, **kw) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", **kw)
        self.shown: Table | None = None  # the sheet shown (None: nothing yet)

    def show_table(self, table: Table | None, rows: int = SHOWN) -> None:
        self.shown = table
        self.clear(columns=True)
        if table is None:
            return
        self.add_column("row", key="__row")
        for i, h in enumerate(table.headers):
            self.add_column(cell(h), key=f"c{i}")
        head = table.df.head(rows)
        cols = [ROW, *table.headers] if ROW in head.columns else list(table.headers)
        for values in head.select(cols).iter_rows():
            self.add_row(*(cell(v) for v in values))
