"""The first rows of a sheet, with their spreadsheet row numbers: headers and cells literal (F4)."""
from __future__ import annotations

from textual.widgets import DataTable

from ...sources.table import ROW, Table
from ..literal import literal

SHOWN = 100


class SheetPreview(DataTable):
    def __init__(self, **kw) -> None:
        super().__init__(zebra_stripes=True, cursor_type="row", **kw)

    def show_table(self, table: Table | None, rows: int = SHOWN) -> None:
        self.clear(columns=True)
        if table is None:
            return
        self.add_column("row", key="__row")
        for i, h in enumerate(table.headers):
            self.add_column(literal(h), key=f"c{i}")
        head = table.df.head(rows)
        cols = [ROW, *table.headers] if ROW in head.columns else list(table.headers)
        for values in head.select(cols).iter_rows():
            self.add_row(*(literal(v) for v in values))
